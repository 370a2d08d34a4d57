"""A blocking ESME over a plain socket, for the PDUs smpplib cannot send (submit_multi,
cancel_sm, replace_sm) and for frames no library would write.

It frames and decodes what it reads with ``gateway.smpp`` (the codec's own tests compare it
with smpplib and node-smpp byte for byte); what it sends is whatever PDU the test builds.
Receipts and keep-alives arriving meanwhile are answered. Tests run it in worker threads.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

from gateway.smpp import (
    RESPONSE_BIT,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    Pdu,
    PduReader,
    decode,
    encode,
)

_BINDS = {"tx": BindTransmitter, "rx": BindReceiver, "trx": BindTransceiver}


def bind_status(s: Any, system_id: str, password: str, *, before: bytes = b"") -> int:
    """Send a bind_transmitter on the connected socket ``s`` (plain or TLS), after the
    octets ``before`` in the same write (a PROXY header, say); the command_status of the
    first PDU that comes back, or -1 if the gateway closed (or reset) without one."""
    bind = BindTransmitter(sequence_number=1, system_id=system_id, password=password)
    s.sendall(before + encode(bind))
    reader = PduReader()
    while True:
        try:
            data = s.recv(4096)
        except ConnectionResetError:  # closed with our bind unread: a reset
            return -1
        if not data:
            return -1
        reader.feed(data)
        for frame in reader.frames():
            return int(decode(frame).command_status)


class RawEsme:
    """One SMPP session on a blocking socket."""

    def __init__(self, port: int, *, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = PduReader(max_size=1 << 20)
        self.seq = 0
        self.receipts: list[DeliverSm] = []

    def send(self, pdu: Pdu) -> int:
        """Send ``pdu`` with the next sequence number (unless it has one); the number."""
        seq = pdu.sequence_number
        if seq == 0:
            self.seq += 1
            seq = self.seq
            pdu = replace(pdu, sequence_number=seq)
        self.sock.sendall(encode(pdu))
        return seq

    def read(self) -> Pdu:
        """The next PDU from the gateway (the socket timeout guards a hang)."""
        while True:
            frame = self.reader.next_frame()
            if frame is not None:
                return decode(frame)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the gateway closed the connection")
            self.reader.feed(data)

    def call(self, pdu: Pdu) -> Pdu:
        """Send a request and return its response (or generic_nack)."""
        seq = self.send(pdu)
        while True:
            got = self.read()
            if got.command_id & RESPONSE_BIT and got.sequence_number == seq:
                return got
            if isinstance(got, DeliverSm):
                self.receipts.append(got)
                self.sock.sendall(encode(DeliverSmResp(sequence_number=got.sequence_number)))
            elif isinstance(got, EnquireLink):
                self.sock.sendall(encode(EnquireLinkResp(sequence_number=got.sequence_number)))

    def bind(self, kind: str, system_id: str, password: str) -> int:
        """Bind ("tx", "rx", "trx"); the command_status."""
        resp = self.call(_BINDS[kind](sequence_number=0, system_id=system_id, password=password))
        return resp.command_status

    def close(self) -> None:
        """Drop the connection."""
        self.sock.close()
