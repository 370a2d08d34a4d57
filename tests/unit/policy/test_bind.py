"""policy.bind: credentials first, then the quota held in the ledger (a real SQLite store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.policy.bind import BindPolicy
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from tests.integration.harness import PASSWORD, make_account


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path}/l.db")
    await s.upgrade()
    await make_account(s, "smpp-a", max_binds=1)
    await s.register_gateway("gw1", address="test")
    yield s
    await s.close()


@pytest.fixture
async def policy(store: Store) -> AsyncIterator[BindPolicy]:
    p = BindPolicy(store, gateway_id="gw1")
    yield p
    p.close()


async def test_admitted_bind_holds_its_slot_until_released(policy: BindPolicy) -> None:
    first = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="trx", session_id="s1")
    assert (first.status, first.reason) == (S.ESME_ROK, "ok")
    assert first.account is not None and first.account.system_id == "smpp-a"
    over = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
    assert (over.status, over.reason) == (S.ESME_RALYBND, "max_binds_reached")
    await policy.release("s1")
    again = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
    assert again.status == S.ESME_ROK


async def test_refused_credentials_take_no_slot(policy: BindPolicy) -> None:
    bad = await policy.admit("smpp-a", "wrong", "127.0.0.1", kind="tx", session_id="s1")
    assert (bad.status, bad.reason) == (S.ESME_RINVPASWD, "bad_password")
    good = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s2")
    assert good.status == S.ESME_ROK, "the refused bind did not use the only slot"


async def test_a_gateway_no_longer_registered_refuses_with_bindfail(
    store: Store, policy: BindPolicy
) -> None:
    await store.unregister_gateway("gw1")
    decision = await policy.admit("smpp-a", PASSWORD, "127.0.0.1", kind="tx", session_id="s1")
    assert (decision.status, decision.reason) == (S.ESME_RBINDFAIL, "ledger_down")
