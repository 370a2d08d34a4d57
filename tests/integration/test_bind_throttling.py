"""Failed-bind throttling against a real gateway over raw sockets (issue 9).

Five wrong-password binds from one address: the fifth is answered and the connection
closed; for the back-off, every bind from that address, even with the right password,
gets ESME_RBINDTHROTTLED (0x400) and is closed, without a password being hashed.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from gateway.policy.auth import Authenticator
from gateway.smpp import BindTransmitter, Pdu, PduReader, decode, encode
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path}/ledger.db")
    await s.upgrade()
    yield s
    await s.close()


def _binds(port: int, passwords: list[str]) -> tuple[list[Pdu], bool]:
    """Send one bind per password on one connection, each after the previous answer;
    return the answers and whether the gateway closed the connection afterwards."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        reader = PduReader()
        answers: list[Pdu] = []
        for seq, password in enumerate(passwords, start=1):
            bind = BindTransmitter(sequence_number=seq, system_id="smpp-brute", password=password)
            try:
                s.sendall(encode(bind))
            except OSError:
                break
            while len(answers) < seq:
                try:
                    data = s.recv(65536)
                except ConnectionResetError:  # closed while our next bind was on its way
                    return answers, True
                if not data:
                    return answers, True
                reader.feed(data)
                answers.extend(decode(f) for f in reader.frames())
        # Closed now or soon after the last answer; still open if nothing comes in 1 s.
        s.settimeout(1.0)
        try:
            closed = s.recv(65536) == b""
        except TimeoutError:
            closed = False
        except OSError:  # reset
            closed = True
        return answers, closed


async def test_five_failures_close_the_connection_and_throttle_the_address(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_account(store, "smpp-brute")
    hashes: list[str] = []
    verify = Authenticator._verify

    async def counting(
        self: Authenticator, password: str, stored: str, peer_ip: str
    ) -> bool | None:
        hashes.append(password)
        return await verify(self, password, stored, peer_ip)

    monkeypatch.setattr(Authenticator, "_verify", counting)
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={"bind_max_failures": 5, "bind_failure_window_s": 60.0, "bind_backoff_s": 60.0},
    )
    async with running_gateway(config, store) as gw:
        assert gw.endpoints is not None
        port = gw.endpoints.port
        # SMPP 3.4 lets a client retry a refused bind on the same connection: four tries
        # are answered and the connection stays open ...
        with structlog.testing.capture_logs() as logs:
            answers, closed = await in_thread(_binds, port, [f"guess{i}" for i in range(4)])
            assert [a.command_status for a in answers] == [S.ESME_RINVPASWD] * 4
            assert not closed
            # ... the fifth (here on a new connection: it is the address that counts) is
            # answered, then the connection is closed.
            answers, closed = await in_thread(_binds, port, ["guess4", "guess5"])
            assert [a.command_status for a in answers] == [S.ESME_RINVPASWD]
            assert closed
            assert len(hashes) == 5
            # Blocked: the right password gets 0x400 and the door, with no hash.
            answers, closed = await in_thread(_binds, port, [PASSWORD])
            assert [a.command_status for a in answers] == [S.ESME_RBINDTHROTTLED]
            assert closed
            assert len(hashes) == 5
        throttled = [e for e in logs if e["event"] == "bind.throttled"]
        assert len(throttled) == 1 and throttled[0]["peer_ip"] == "127.0.0.1"
        assert throttled[0]["reason"] == "address"
        refused = [e["reason"] for e in logs if e["event"] == "bind.refused"]
        assert refused == ["bad_password"] * 5 + ["throttled"]
