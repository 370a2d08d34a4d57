"""Transfers, limits, account edits, closing, binds and history through the service layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway import admin
from gateway.admin import inputs, views
from ledger.models import AccountStatus, Category, DebitRequest, MessageState
from ledger.rules.limits import LedgerLimits
from ledger.store import Store, open_store
from tests.ledger.ledger_helpers import FakeClock, message


async def two_of_acme(store: Store) -> None:
    await admin.create_account(store, "smpp-a", owner="acme")
    await admin.create_account(store, "smpp-b", owner="acme")
    await admin.create_account(store, "smpp-x", owner="other")
    await admin.add_credit(store, "smpp-a", 10_000, key="seed")


async def test_a_transfer_and_its_replay(store: Store) -> None:
    await two_of_acme(store)
    moved = await admin.transfer(store, "smpp-a", "smpp-b", 2_500, key="t1", note="split")
    assert (moved.source_balance, moved.target_balance) == (7_500, 2_500)
    assert await admin.transfer(store, "smpp-a", "smpp-b", 2_500, key="t1") == moved
    fresh = await admin.transfer(store, "smpp-a", "smpp-b", 500, origin="api")
    assert fresh.out.idempotency_key.startswith("api:")
    view = views.transfer_view(moved)
    assert (view["source"], view["target"], view["amount"], view["amount_milli"]) == (
        "smpp-a",
        "smpp-b",
        "2.5",
        2_500,
    )
    assert (view["source_balance"], view["target_balance"]) == ("7.5", "2.5")
    assert [e["counter_account"] for e in view["entries"]] == ["smpp-b", "smpp-a"]


@pytest.mark.parametrize(
    ("source", "target", "amount", "key", "kind", "message"),
    [
        ("smpp-a", "smpp-x", 1, None, admin.DifferentOwners, "do not belong to one owner"),
        ("smpp-a", "smpp-a", 1, None, admin.SameAccountTransfer, "to itself"),
        ("smpp-a", "smpp-z", 1, None, admin.AccountNotFound, "smpp-z: no such account"),
        ("smpp-a", "smpp-b", 10_001, None, admin.NotEnoughCredit, "less than the 10.001"),
        ("smpp-a", "smpp-b", 1, "seed", admin.KeyReused, "key seed was already used"),
        ("smpp-a", "smpp-b", 0, None, admin.InvalidInput, "positive number"),
    ],
)
async def test_each_transfer_refusal_is_one_clear_error(
    store: Store,
    source: str,
    target: str,
    amount: int,
    key: str | None,
    kind: type[admin.AdminError],
    message: str,
) -> None:
    await two_of_acme(store)
    with pytest.raises(kind, match=message) as caught:
        await admin.transfer(store, source, target, amount, key=key)
    assert "\n" not in str(caught.value)
    assert (await admin.show_account(store, "smpp-a")).balance == 10_000


async def test_an_inactive_account_is_refused(store: Store) -> None:
    await two_of_acme(store)
    await admin.set_status(store, "smpp-b", AccountStatus.DISABLED)
    with pytest.raises(admin.AccountInactive, match="smpp-b is disabled"):
        await admin.transfer(store, "smpp-a", "smpp-b", 1)


@pytest.fixture
async def limited(store: Store, store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    s = await open_store(store_url, clock=clock, limits=LedgerLimits(5_000, 8_000))
    try:
        yield s
    finally:
        await s.close()


async def test_limits_are_a_clear_refusal(store: Store, limited: Store) -> None:
    await two_of_acme(store)
    with pytest.raises(admin.AmountLimit, match=r"more than the largest allowed, 5 \("):
        await admin.add_credit(limited, "smpp-b", 5_001)
    with pytest.raises(admin.AmountLimit, match="largest balance allowed, 8"):
        await admin.add_credit(limited, "smpp-a", 1)  # 10 credits already: past 8
    await admin.add_credit(limited, "smpp-b", 5_000)
    with pytest.raises(admin.AmountLimit, match=r"would take smpp-b to 8\.001"):
        await admin.transfer(limited, "smpp-a", "smpp-b", 3_001)
    for huge in (10**24, 2**63, 10**40):
        with pytest.raises(admin.AmountLimit):
            await admin.add_credit(store, "smpp-a", huge)
    # What the CLI types goes through the same input check first.
    assert inputs.credits("1" + "0" * 21) == 10**24
    with pytest.raises(admin.InvalidInput, match="not a plain decimal"):
        inputs.credits("1e21")


async def test_account_set_and_show_with_binds(store: Store, clock: FakeClock) -> None:
    await admin.create_account(store, "smpp-a", owner="acme", default_category=Category.MARKETING)
    changed = await admin.update_account(
        store,
        "smpp-a",
        contact_email="ops@acme.example",
        owner="Acme SA",
        throughput=7,
        max_binds=3,
        default_category=Category.VERIFICATION,
    )
    assert (changed.owner, changed.contact_email, changed.throughput, changed.max_binds) == (
        "Acme SA",
        "ops@acme.example",
        7,
        3,
    )
    assert changed.default_category is Category.VERIFICATION
    with pytest.raises(admin.InvalidInput, match="nothing to change"):
        await admin.update_account(store, "smpp-a")
    with pytest.raises(admin.InvalidInput, match="has no '@'"):
        await admin.update_account(store, "smpp-a", contact_email="nobody")
    await store.register_gateway("gw-1", address="h:2775")
    await store.acquire_bind(
        "smpp-a", gateway_id="gw-1", session_id="s1", kind="tx", max_binds=3, peer="192.0.2.9"
    )
    details = await admin.account_details(store, "smpp-a")
    assert details.account == changed
    [bind] = details.binds
    assert (bind.peer, bind.gateway_id, bind.kind, bind.bound_at) == (
        "192.0.2.9",
        "gw-1",
        "tx",
        clock.now,
    )
    view = views.account_details_view(details)
    assert view["binds"] == [
        {
            "peer": "192.0.2.9",
            "gateway_id": "gw-1",
            "session_id": "s1",
            "kind": "tx",
            "bound_at": clock.now.isoformat(),
        }
    ]
    assert view["default_category"] == "verification"


async def test_close_after_transferring_the_balance(store: Store) -> None:
    await two_of_acme(store)
    with pytest.raises(admin.AccountNotClosable, match="still holds 10 credits: transfer"):
        await admin.close_account(store, "smpp-a")
    await admin.transfer(store, "smpp-a", "smpp-b", 10_000)
    closed = await admin.close_account(store, "smpp-a")
    assert closed.status is AccountStatus.CLOSED
    assert views.account_view(closed)["closed_at"] == closed.closed_at.isoformat()  # type: ignore[union-attr]
    with pytest.raises(admin.AccountInactive, match="closed account stays closed"):
        await admin.set_status(store, "smpp-a", AccountStatus.ACTIVE)
    with pytest.raises(admin.AccountInactive):
        await admin.add_credit(store, "smpp-a", 1)


async def test_history_and_retention(store: Store, clock: FakeClock) -> None:
    await admin.create_account(store, "smpp-a")
    await admin.add_credit(store, "smpp-a", 100_000)
    start = clock.now
    for i in range(5):
        msg = message(f"m{i}", "smpp-a", cost=200, destination=f"3361234567{i}")
        await store.debit_batch([DebitRequest(f"k{i}", msg)])
        clock.advance(hours=1)
    page = await admin.history(store, "smpp-a", limit=2, dest_prefix="336")
    assert [h.message_id for h in page.items] == ["m4", "m3"]
    rest = await admin.history(store, "smpp-a", limit=10, before=page.next_before)
    assert [h.message_id for h in rest.items] == ["m2", "m1", "m0"]
    shown = views.history_page_view(page)
    first = shown["messages"][0]
    assert (first["destination"], first["cost"], first["state"]) == (
        "33612345674",
        "0.2",
        "accepted",
    )
    assert first["drawn_from"] == [{"source": "credits", "amount": "0.2", "amount_milli": 200}]
    assert shown["next_before"] == page.next_before
    window = await admin.history(
        store,
        "smpp-a",
        since=start + timedelta(hours=1),
        until=start + timedelta(hours=3),
        state=MessageState.ACCEPTED,
    )
    assert [h.message_id for h in window.items] == ["m2", "m1"]
    with pytest.raises(admin.InvalidInput, match="since must be before until"):
        await admin.history(store, "smpp-a", since=start, until=start)
    with pytest.raises(admin.InvalidInput, match="not a history cursor"):
        await admin.history(store, "smpp-a", before="garbage")
    with pytest.raises(admin.InvalidInput, match="give --days N"):
        await admin.prune_history(store, 0)
    pruned = await admin.prune_history(store, 1)
    assert pruned.messages == 0  # every message is still ACCEPTED: kept
    assert views.prune_view(pruned)["messages"] == 0


def test_history_inputs() -> None:
    assert inputs.moment("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert inputs.moment("2024-05-01T12:30:00") == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert inputs.moment("2024-05-01T12:30:00+02:00") == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    with pytest.raises(admin.InvalidInput, match="not a date or time"):
        inputs.moment("yesterday")
    assert inputs.destination_prefix("+336") == "336"
    assert inputs.destination_prefix("44") == "44"
    for bad in ("", "+", "33a", "1" * 21):
        with pytest.raises(admin.InvalidInput):
            inputs.destination_prefix(bad)
    assert inputs.category("marketing") is Category.MARKETING
    with pytest.raises(admin.InvalidInput, match="must be one of verification"):
        inputs.category("promo")
