"""An account's own submit window and maximum session age (migration 0014), on both
stores: None (the gateway's limits) until set, set, back to the gateway's with -1."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidAccountData
from ledger.models import USE_GATEWAY_DEFAULT, AccountChanges
from ledger.store import Store, open_store
from tests.ledger.conftest import raw_sql, upgraded_across
from tests.ledger.ledger_helpers import FakeClock, make_account


async def test_limits_follow_the_gateway_until_set_then_back_with_minus_one(
    store: Store,
) -> None:
    await make_account(store, "smpp-a", owner="acme")
    fresh = await store.get_account("smpp-a")
    assert (fresh.submit_window, fresh.max_session_age_s) == (None, None)
    changed = await store.update_account(
        "smpp-a", AccountChanges(submit_window=8, max_session_age_s=3600)
    )
    assert (changed.submit_window, changed.max_session_age_s) == (8, 3600)
    assert changed.owner == "acme"  # nothing else moved
    listed = (await store.list_accounts())[0]
    assert (listed.submit_window, listed.max_session_age_s) == (8, 3600)
    # 0 is a value of its own (no window, sessions never aged out), not the default.
    zero = await store.update_account("smpp-a", AccountChanges(submit_window=0))
    assert (zero.submit_window, zero.max_session_age_s) == (0, 3600)
    back = await store.update_account(
        "smpp-a", AccountChanges(max_session_age_s=USE_GATEWAY_DEFAULT)
    )
    assert (back.submit_window, back.max_session_age_s) == (0, None)
    assert not AccountChanges(submit_window=USE_GATEWAY_DEFAULT).empty


@pytest.mark.parametrize("bad", [-2, 2**31, True, 1.5])
async def test_an_out_of_range_limit_is_refused_and_nothing_written(
    store: Store, bad: object
) -> None:
    await make_account(store, "smpp-a")
    await store.update_account("smpp-a", AccountChanges(submit_window=4))
    for changes in (
        AccountChanges(submit_window=bad),  # type: ignore[arg-type]
        AccountChanges(max_session_age_s=bad, owner="someone"),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidAccountData, match="-1 for the gateway's default"):
            await store.update_account("smpp-a", changes)
    account = await store.get_account("smpp-a")
    assert (account.submit_window, account.max_session_age_s, account.owner) == (4, None, "")


async def test_the_check_constraints_refuse_negative_limits(store_url: str) -> None:
    # Defence in depth: a row written around the ledger cannot hold a negative limit.
    store = await open_store(store_url)
    try:
        await store.upgrade()
        await make_account(store, "smpp-a")
    finally:
        await store.close()
    for column in ("submit_window", "max_session_age_s"):
        with pytest.raises(Exception, match=r"(?i)check"):
            raw_sql(
                store_url,
                f"UPDATE {{s}}accounts SET {column} = -1 WHERE system_id = 'smpp-a'",
            )


async def test_the_upgrade_to_0014_leaves_old_accounts_on_the_gateway_limits(
    fresh_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = await upgraded_across(fresh_url, clock, monkeypatch, "0014_account_limits")
    try:
        account = await new.get_account("smpp-old")
        assert (account.submit_window, account.max_session_age_s) == (None, None)
    finally:
        await new.close()
