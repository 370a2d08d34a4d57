"""Bound sessions follow their account: a disable, a deny-ip or a password change ends
them within a couple of seconds; a sender change applies to the next submit."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import structlog

from gateway import admin
from gateway.app import Gateway
from gateway.smpp import (
    BindTransmitter,
    CommandStatus,
    PduReader,
    Unbind,
    UnbindResp,
    decode,
    encode,
)
from ledger import Store, open_store
from ledger.models import AccountStatus, Sender
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

SYSTEM_ID = "smpp-follow"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Store]]:
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    await make_account(store, SYSTEM_ID, allowed_ips=("127.0.0.1/32", "10.0.0.0/8"))
    try:
        async with running_gateway(gateway_config(url), store) as g:
            yield g, store
    finally:
        await store.close()


def _wait_for_unbind(port: int, bound: threading.Event) -> bool:
    """Bind, then read until the gateway unbinds; True when it closed the connection after."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        bind = BindTransmitter(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD)
        s.sendall(encode(bind))
        reader = PduReader()
        while True:
            data = s.recv(4096)
            if not data:
                raise AssertionError("closed without an unbind")
            reader.feed(data)
            for frame in reader.frames():
                pdu = decode(frame)
                if isinstance(pdu, Unbind):
                    s.sendall(encode(UnbindResp(sequence_number=pdu.sequence_number)))
                    return s.recv(4096) == b""
                assert pdu.command_status == CommandStatus.ESME_ROK, pdu
                bound.set()


Change = Callable[[Store], Awaitable[object]]

CHANGES: dict[str, tuple[Change, str]] = {
    "disabled": (
        lambda st: admin.set_status(st, SYSTEM_ID, AccountStatus.DISABLED),
        "account_disabled",
    ),
    "ip denied": (lambda st: admin.deny_ip(st, SYSTEM_ID, "127.0.0.1/32"), "ip_not_allowed"),
    "password changed": (
        lambda st: admin.set_password(st, SYSTEM_ID, "another9"),
        "password_changed",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_that_revokes_the_bind_ends_the_session(
    gw: tuple[Gateway, Store], change: str
) -> None:
    g, store = gw
    apply, reason = CHANGES[change]
    bound = threading.Event()
    with structlog.testing.capture_logs() as logs:
        session = asyncio.ensure_future(in_thread(_wait_for_unbind, g.endpoints.port, bound))
        assert await in_thread(bound.wait, 5)
        await apply(store)
        # Unbound by the account watch, long before the 150 s inactivity timeout that
        # used to be the only end of such a session.
        closed = await asyncio.wait_for(session, 10)
    assert closed
    evicted = [e for e in logs if e["event"] == "session.evicted"]
    assert [e["reason"] for e in evicted] == [reason]
    assert evicted[0]["system_id"] == SYSTEM_ID


async def test_other_changes_keep_the_session_and_apply_to_the_next_submit(
    gw: tuple[Gateway, Store],
) -> None:
    g, store = gw
    esme = await in_thread(Esme, g.endpoints.port)
    await in_thread(esme.bind, "tx", SYSTEM_ID, PASSWORD)
    status, _ = await in_thread(esme.submit, b"x", source="NEWS")
    assert status == CommandStatus.ESME_RINVSRCADR
    with structlog.testing.capture_logs() as logs:
        await admin.add_sender(store, SYSTEM_ID, Sender(5, 0, "NEWS"))
        await admin.deny_ip(store, SYSTEM_ID, "10.0.0.0/8")  # not the session's address
        await asyncio.sleep(2.0)  # two account watch rounds
        status, _ = await in_thread(esme.submit, b"x", source="NEWS")
    assert status == CommandStatus.ESME_ROK
    assert not [e for e in logs if e["event"] == "session.evicted"]
    await in_thread(esme.close)
