"""The limits an operator sets on sessions, against a live gateway over sockets: the
submit window per account (both modes), the maximum session age (a clean unbind), and
the octets a session may leave unsent when its client does not read (issue 9)."""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog

from gateway.app import Gateway
from gateway.smpp import (
    CommandStatus,
    EnquireLink,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    encode,
)
from ledger import Store
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.raw_esme import RawEsme

S = CommandStatus
FR = "33612345678"


@asynccontextmanager
async def _gateway(store: Store, tmp_path: Path, **server: Any) -> AsyncIterator[Gateway]:
    config = gateway_config(f"sqlite:///{tmp_path}/ledger.db", server=server)
    async with running_gateway(config, store) as gw:
        yield gw


def _submit(seq: int) -> SubmitSm:
    return SubmitSm(
        sequence_number=seq,
        source_addr_ton=5,
        source_addr="SMPPGW",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=FR,
        short_message=b"window",
    )


def _answers(esme: RawEsme, n: int) -> dict[int, int]:
    """seq -> status of the next ``n`` submit_sm_resp."""
    got: dict[int, int] = {}
    while len(got) < n:
        pdu = esme.read()
        if isinstance(pdu, SubmitSmResp):
            got[pdu.sequence_number] = pdu.command_status
    return got


async def test_account_window_throttles_beyond_it(store: Store, tmp_path: Path) -> None:
    await make_account(store, "smpp-window", credits="10")
    async with _gateway(store, tmp_path, account_submit_window=1) as gw:
        assert gw.endpoints is not None
        esme = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(esme.bind, "tx", "smpp-window", PASSWORD) == S.ESME_ROK
        # Two submits in one write: the second arrives while the first is being debited.
        await in_thread(esme.sock.sendall, encode(_submit(10)) + encode(_submit(11)))
        got = await in_thread(_answers, esme, 2)
        assert got == {10: S.ESME_ROK, 11: S.ESME_RTHROTTLED}
        assert (await store.get_account("smpp-window")).balance == 9_000
        await in_thread(esme.close)


async def test_account_window_backpressure_holds_instead(store: Store, tmp_path: Path) -> None:
    await make_account(store, "smpp-window-bp", credits="10")
    async with _gateway(
        store, tmp_path, account_submit_window=1, account_window_mode="backpressure"
    ) as gw:
        assert gw.endpoints is not None
        esme = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(esme.bind, "tx", "smpp-window-bp", PASSWORD) == S.ESME_ROK
        await in_thread(esme.sock.sendall, b"".join(encode(_submit(s)) for s in range(20, 25)))
        got = await in_thread(_answers, esme, 5)
        assert got == dict.fromkeys(range(20, 25), S.ESME_ROK)
        assert (await store.get_account("smpp-window-bp")).balance == 5_000
        await in_thread(esme.close)


def _wait_unbind(esme: RawEsme) -> bool:
    """Answer enquire_link and wait for the gateway's unbind; answer it; True then."""
    while True:
        pdu = esme.read()
        if isinstance(pdu, Unbind):
            esme.sock.sendall(encode(UnbindResp(sequence_number=pdu.sequence_number)))
            return True


async def test_a_session_past_its_maximum_age_is_unbound_cleanly(
    store: Store, tmp_path: Path
) -> None:
    await make_account(store, "smpp-aged", credits="10")
    async with _gateway(store, tmp_path, max_session_age_s=0.3) as gw:
        assert gw.endpoints is not None
        esme = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(esme.bind, "trx", "smpp-aged", PASSWORD) == S.ESME_ROK
        with structlog.testing.capture_logs() as logs:
            assert await in_thread(_wait_unbind, esme)
        assert "session.max_age" in [e["event"] for e in logs]
        # ... then closed; a new bind works at once.
        assert await in_thread(esme.sock.recv, 1) == b""
        again = await in_thread(RawEsme, gw.endpoints.port)
        assert await in_thread(again.bind, "tx", "smpp-aged", PASSWORD) == S.ESME_ROK
        await in_thread(esme.close)
        await in_thread(again.close)


def _flood_without_reading(port: int) -> bool:
    """enquire_link after enquire_link, reading nothing; True once the gateway drops us."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", port))
    chunk = b"".join(encode(EnquireLink(sequence_number=s)) for s in range(1, 4097))
    try:
        for _ in range(4096):  # at most 256 MB: far beyond any kernel buffering
            sock.sendall(chunk)
    except OSError:
        return True
    finally:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    return False


async def test_a_client_that_does_not_read_is_dropped(store: Store, tmp_path: Path) -> None:
    async with _gateway(store, tmp_path, max_session_buffer=65_536, bind_timeout_s=60) as gw:
        assert gw.endpoints is not None
        with structlog.testing.capture_logs() as logs:
            assert await in_thread(_flood_without_reading, gw.endpoints.port)
        assert "session.buffer_full" in [e["event"] for e in logs]
