"""``[server] uniform_bind_refusals``: every refused credential looks alike, hashed once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gateway.policy import auth
from gateway.policy.auth import Authenticator
from gateway.smpp import BindTransmitter, CommandStatus, PduReader, decode, encode
from ledger import Store
from ledger.models import AccountStatus
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

S = CommandStatus


@pytest.fixture
async def accounts(store: Store) -> Store:
    await make_account(store, "smpp-open")
    await make_account(store, "smpp-off")
    await store.set_status("smpp-off", AccountStatus.DISABLED)
    return store


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored hashes each password check was made against, in order."""
    seen: list[str] = []
    real = auth.verify_password

    def counting(password: str, stored: str) -> bool:
        seen.append(stored)
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", counting)
    return seen


CASES = [
    # system_id, password, peer: (status when uniform, status otherwise, hashes otherwise)
    ("smpp-nobody", PASSWORD, "127.0.0.1", S.ESME_RINVSYSID, 0),
    ("smpp-open", PASSWORD, "192.0.2.1", S.ESME_RBINDFAIL, 0),
    ("smpp-off", PASSWORD, "127.0.0.1", S.ESME_RBINDFAIL, 0),
    ("smpp-open", "wrong123", "127.0.0.1", S.ESME_RINVPASWD, 1),
]


@pytest.mark.parametrize(("system_id", "password", "peer", "plain", "plain_hashes"), CASES)
async def test_each_refusal_is_alike_and_costs_one_hash(
    accounts: Store,
    hashes: list[str],
    system_id: str,
    password: str,
    peer: str,
    plain: int,
    plain_hashes: int,
) -> None:
    uniform = Authenticator(accounts, uniform=True)
    plain_auth = Authenticator(accounts)
    try:
        decided = await uniform.authenticate(system_id, password, peer)
        assert decided.status == S.ESME_RBINDFAIL and len(hashes) == 1
        hashes.clear()
        decided = await plain_auth.authenticate(system_id, password, peer)
        assert decided.status == plain and len(hashes) == plain_hashes
        # The log keeps the real reason either way.
        assert decided.reason != "ok"
    finally:
        uniform.close()
        plain_auth.close()


async def test_the_right_password_still_binds(accounts: Store, hashes: list[str]) -> None:
    uniform = Authenticator(accounts, uniform=True)
    try:
        decided = await uniform.authenticate("smpp-open", PASSWORD, "127.0.0.1")
        assert decided.status == S.ESME_ROK and len(hashes) == 1
    finally:
        uniform.close()


def _bind_status(port: int, system_id: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(encode(BindTransmitter(sequence_number=1, system_id=system_id, password="x1")))
        reader = PduReader()
        while True:
            reader.feed(s.recv(4096))
            for frame in reader.frames():
                return int(decode(frame).command_status)


async def test_over_a_socket_unknown_and_wrong_get_the_same_status(
    accounts: Store, tmp_path: Path
) -> None:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db", server={"uniform_bind_refusals": True}
    )
    async with running_gateway(config, accounts) as gw:
        port = gw.endpoints.port
        answers = {sid: await in_thread(_bind_status, port, sid) for sid in ("smpp-x", "smpp-open")}
    assert answers == {"smpp-x": S.ESME_RBINDFAIL, "smpp-open": S.ESME_RBINDFAIL}
