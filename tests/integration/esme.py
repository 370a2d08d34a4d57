"""A blocking ESME built on smpplib (an independent SMPP implementation) for tests.

Tests run it in worker threads (``asyncio.to_thread``) while the gateway runs on the
test's event loop. Receipts that arrive while waiting for a submit_sm_resp are kept.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.smpp


class _Client(smpplib.client.Client):  # type: ignore[misc]
    """smpplib's client, able to bind its socket to a chosen source address."""

    def __init__(self, host: str, port: int, source_ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, allow_unknown_opt_params=True)
        self._source_ip = source_ip

    def _create_socket(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.bind((self._source_ip, 0))
        return s


@dataclass
class Receipt:
    """What the test needs from a received delivery receipt."""

    text: str
    receipted_message_id: str
    message_state: int | None


@dataclass
class Esme:
    """One SMPP client session."""

    port: int
    source_ip: str = "127.0.0.1"
    timeout: float = 10.0
    receipts: list[Receipt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = _Client("127.0.0.1", self.port, self.source_ip, self.timeout)
        try:
            self.client.connect()
        except Exception:
            # smpplib leaves its socket open when connect() fails.
            if self.client._socket is not None:
                self.client._socket.close()
                self.client._socket = None
            self.client.state = smpplib.consts.SMPP_CLIENT_STATE_CLOSED
            raise

    def bind(self, kind: str, system_id: str, password: str) -> int:
        """Bind ("tx", "rx", "trx"); returns the command_status (0 = bound)."""
        method = {
            "tx": "bind_transmitter",
            "rx": "bind_receiver",
            "trx": "bind_transceiver",
        }[kind]
        p = smpplib.smpp.make_pdu(
            method, client=self.client, system_id=system_id, password=password
        )
        # Straight to the socket: smpplib refuses a second bind itself, and the point of
        # some tests is to see what the gateway answers to one.
        self.client._socket.sendall(p.generate())
        resp = self.client.read_pdu()
        if resp.status == 0:
            self.client.state = {
                "tx": smpplib.consts.SMPP_CLIENT_STATE_BOUND_TX,
                "rx": smpplib.consts.SMPP_CLIENT_STATE_BOUND_RX,
                "trx": smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX,
            }[kind]
        return int(resp.status)

    def submit(
        self,
        short_message: bytes = b"hello",
        *,
        destination: str = "33612345678",
        source: str = "SMPPGW",
        source_ton: int = 5,
        source_npi: int = 0,
        dest_ton: int = 1,
        dest_npi: int = 1,
        data_coding: int = 0,
        esm_class: int = 0,
        registered_delivery: int = 0,
        **tlvs: Any,
    ) -> tuple[int, str]:
        """Send one submit_sm; returns (command_status, message_id)."""
        p = smpplib.smpp.make_pdu(
            "submit_sm",
            client=self.client,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=esm_class,
            data_coding=data_coding,
            registered_delivery=registered_delivery,
            short_message=short_message,
            **tlvs,
        )
        self.client.send_pdu(p)
        while True:
            resp = self.client.read_pdu()
            if resp.command == "submit_sm_resp" and resp.sequence == p.sequence:
                mid = resp.message_id.decode() if isinstance(resp.message_id, bytes) else ""
                return int(resp.status), mid or ""
            self._other(resp)

    def _other(self, pdu: Any) -> None:
        if pdu.command == "deliver_sm":
            rid = pdu.receipted_message_id
            if isinstance(rid, bytes):
                rid = rid.decode()
            text = pdu.short_message.decode("latin-1") if pdu.short_message else ""
            with self.lock:
                self.receipts.append(Receipt(text, rid or "", pdu.message_state))
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client)
            resp.sequence = pdu.sequence
            self.client.send_pdu(resp)
        elif pdu.command == "enquire_link":
            resp = smpplib.smpp.make_pdu("enquire_link_resp", client=self.client)
            resp.sequence = pdu.sequence
            self.client.send_pdu(resp)

    def wait_receipts(self, n: int) -> list[Receipt]:
        """Read PDUs until ``n`` receipts arrived (socket timeout is the hang guard)."""
        while len(self.receipts) < n:
            self._other(self.client.read_pdu())
        return list(self.receipts)

    def close(self) -> None:
        """Unbind if bound, then disconnect."""
        try:
            if self.client.state != smpplib.consts.SMPP_CLIENT_STATE_OPEN:
                p = smpplib.smpp.make_pdu("unbind", client=self.client)
                self.client.send_pdu(p)
                while self.client.read_pdu().command != "unbind_resp":
                    pass
        except Exception:  # noqa: S110 — the test is over; the gateway may already have closed
            pass
        finally:
            self.client.state = smpplib.consts.SMPP_CLIENT_STATE_CLOSED
            if self.client._socket is not None:
                self.client._socket.close()
                self.client._socket = None
