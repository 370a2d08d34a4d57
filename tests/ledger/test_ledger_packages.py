"""Credit packages on both stores: purchase, consumption order, expiry, refunds, audit.

Every test runs on SQLite and PostgreSQL with the injected clock; the ``store`` fixture
audits the books after each one (balances and package remainders equal their entries,
everything sums to zero).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import (
    AccountClosed,
    AccountNotEmpty,
    IdempotencyConflict,
    InvalidRequest,
    PackagePaidMessage,
    UnknownAccount,
)
from ledger.models import (
    AccountStatus,
    AuditCheck,
    Category,
    DebitRequest,
    DebitStatus,
    EntryKind,
    HouseAccount,
    MessageState,
)
from ledger.models.history import CREDITS_SOURCE
from ledger.models.packages import PackageStatus
from ledger.store import Store
from tests.ledger.conftest import raw_sql
from tests.ledger.ledger_helpers import FakeClock, full_journal, make_account, message

M = 1000  # milli-messages in a message


def req(key: str, *, segments: int = 1, weight: int = 1000, category: str = "") -> DebitRequest:
    """A debit of ``segments`` segments of ``weight`` milli-credits each."""
    msg = replace(
        message(f"m-{key}", text=f"text {key}"),
        segments=segments,
        cost=segments * weight,
        category=category,
    )
    return DebitRequest(key, msg)


async def debit(store: Store, key: str, **kw: object) -> DebitStatus:
    [result] = await store.debit_batch([req(key, **kw)])  # type: ignore[arg-type]
    return result.status


async def remaining(store: Store) -> dict[str, int]:
    return {p.name: p.remaining for p in await store.packages("smpp-acme")}


async def test_a_purchase_makes_a_valid_package(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=5_000)
    p = await store.buy_package("smpp-acme", "verification", 300, idempotency_key="b1")
    assert p.package_id.startswith("PKG") and len(p.package_id) == 15
    assert (p.category.value, p.total, p.remaining) == ("verification", 300 * M, 300 * M)
    assert p.status is PackageStatus.VALID
    assert p.name == "300 verification"
    assert p.purchased_at == clock.now
    assert p.expires_at == datetime(2025, 5, 1, 12, 0, tzinfo=UTC)  # 12 months
    # The credit balance does not move; the package's entry comes from house:packages.
    assert (await store.get_account("smpp-acme")).balance == 5_000
    [entry] = await store.package_journal(p.package_id)
    assert (entry.kind, entry.amount, entry.balance_after) == (EntryKind.PACKAGE, 300 * M, 300 * M)
    assert entry.counter_account == HouseAccount.PACKAGES.value
    houses = await store.house_balances()
    assert houses[HouseAccount.PACKAGES.value] == -300 * M
    totals = await store.package_totals("smpp-acme")
    assert totals == {"verification": 300 * M, "marketing": 0, "general": 0}


async def test_a_purchase_replays_and_conflicts_by_key(store: Store) -> None:
    await make_account(store)
    first = await store.buy_package("smpp-acme", "general", 100, idempotency_key="b1")
    again = await store.buy_package("smpp-acme", "general", 100, idempotency_key="b1")
    assert again.package_id == first.package_id
    with pytest.raises(IdempotencyConflict):
        await store.buy_package("smpp-acme", "general", 200, idempotency_key="b1")
    assert len(await store.packages("smpp-acme")) == 1


@pytest.mark.parametrize(
    ("category", "quantity", "match"),
    [
        ("general", 50, "at least 100"),
        ("general", 0, "at least 100"),
        ("general", 150, "units of 100"),
        ("general", 10_000_100, "at most"),
        ("promo", 100, "not one of"),
    ],
)
async def test_a_bad_purchase_is_refused_and_writes_nothing(
    store: Store, category: str, quantity: int, match: str
) -> None:
    await make_account(store)
    with pytest.raises(InvalidRequest, match=match):
        await store.buy_package("smpp-acme", category, quantity, idempotency_key="b1")
    assert await store.packages("smpp-acme") == []


async def test_purchase_refusals_for_the_account(store: Store) -> None:
    with pytest.raises(UnknownAccount):
        await store.buy_package("smpp-nobody", "general", 100, idempotency_key="b1")
    await make_account(store)
    await store.close_account("smpp-acme")
    with pytest.raises(AccountClosed):
        await store.buy_package("smpp-acme", "general", 100, idempotency_key="b2")
    assert await store.packages("smpp-acme") == []


async def test_consumption_order_category_then_general_then_credits(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, balance=10_000, default_category=Category.VERIFICATION)
    await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    await store.buy_package("smpp-acme", "verification", 100, idempotency_key="late", name="late")
    clock.advance(days=1)
    await store.buy_package(
        "smpp-acme",
        "verification",
        100,
        idempotency_key="early",
        name="early",
        validity_months=1,
    )
    await store.buy_package("smpp-acme", "marketing", 100, idempotency_key="m", name="m")
    # The earliest expiry of the message's category goes first...
    assert await debit(store, "d1") is DebitStatus.OK
    assert await remaining(store) == {"g": 100 * M, "late": 100 * M, "early": 99 * M, "m": 100 * M}
    # ... 150 segments: 99 from "early", then 51 from "late".
    assert await debit(store, "d2", segments=150) is DebitStatus.OK
    assert await remaining(store) == {"g": 100 * M, "late": 49 * M, "early": 0, "m": 100 * M}
    # A message spanning the rest of "late", all of "general" and the credit balance.
    assert await debit(store, "d3", segments=152) is DebitStatus.OK
    assert await remaining(store) == {"g": 0, "late": 0, "early": 0, "m": 100 * M}
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 3 * 1000
    # Marketing is only for marketing messages (the mapped category overrides).
    assert await debit(store, "d4", category="marketing") is DebitStatus.OK
    assert (await remaining(store))["m"] == 99 * M
    statuses = {p.name: p.status for p in await store.packages("smpp-acme")}
    assert statuses["early"] is PackageStatus.EXHAUSTED
    history = await store.history("smpp-acme")
    d3 = next(h for h in history.items if h.message_id == "m-d3")
    sources = [(d.source, d.amount) for d in d3.drawn_from]
    assert sources[-1] == (CREDITS_SOURCE, 3000)
    assert [a for _, a in sources[:-1]] == [49 * M, 100 * M]


async def test_heavier_destinations_draw_their_weight(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    assert await debit(store, "heavy", segments=2, weight=2500) is DebitStatus.OK
    assert (await remaining(store))["g"] == 100 * M - 5000
    # A lighter destination still takes one whole message per segment.
    assert await debit(store, "light", weight=500) is DebitStatus.OK
    assert (await remaining(store))["g"] == 100 * M - 6000
    assert (await store.get_account("smpp-acme")).balance == 10_000


async def test_a_package_message_replays_without_drawing_again(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    [first] = await store.debit_batch([req("k1")])
    retry = replace(req("k1"), message=replace(req("k1").message, message_id="m-other"))
    [again] = await store.debit_batch([retry])
    assert first.status is DebitStatus.OK
    assert (again.status, again.message_id) == (DebitStatus.DUPLICATE, "m-k1")
    assert (await remaining(store))["g"] == 99 * M
    assert again.balance_after == 1_000


async def test_expiry_is_exact_and_the_write_off_is_the_remainder(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, balance=10_000)
    p = await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    clock.set(p.expires_at - timedelta(microseconds=1))
    assert await debit(store, "before") is DebitStatus.OK
    assert (await remaining(store))["g"] == 99 * M
    assert (await store.get_account("smpp-acme")).balance == 10_000
    assert await store.expire_packages() == []  # not yet expired
    clock.set(p.expires_at)
    assert (await store.package(p.package_id)).status is PackageStatus.EXPIRED
    assert await debit(store, "at") is DebitStatus.OK
    assert (await store.get_account("smpp-acme")).balance == 9_000  # credits paid
    assert await store.expire_packages() == [("smpp-acme", p.package_id, 99 * M)]
    assert await store.expire_packages() == []  # once
    latest = (await store.package_journal(p.package_id))[0]
    assert (latest.kind, latest.amount, latest.balance_after) == (EntryKind.WRITE_OFF, -99 * M, 0)
    assert latest.counter_account == HouseAccount.PACKAGE_WRITE_OFFS.value
    assert (await store.package(p.package_id)).remaining == 0


async def test_a_refund_goes_back_where_it_was_drawn(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=10_000)
    p = await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    x = await store.buy_package("smpp-acme", "marketing", 100, idempotency_key="x", name="x")
    # 101 segments: 100 from the package, 1 from the credits.
    assert await debit(store, "d1", segments=101) is DebitStatus.OK
    assert (await store.get_account("smpp-acme")).balance == 9_000
    entry = await store.refund("m-d1", reason="upstream 0x45")
    assert entry.kind is EntryKind.REFUND
    assert (await remaining(store))["g"] == 100 * M
    assert (await store.get_account("smpp-acme")).balance == 10_000
    assert (await store.get_message("m-d1")).state is MessageState.REJECTED
    again = await store.refund("m-d1", reason="upstream 0x45")
    assert again.idempotency_key == entry.idempotency_key
    assert (await remaining(store))["g"] == 100 * M
    # A refund to a package that has expired since is written off at once.
    assert await debit(store, "d2", segments=3) is DebitStatus.OK
    clock.set(p.expires_at)
    await store.refund("m-d2", reason="upstream 0x45")
    kinds = [(e.kind, e.amount) for e in await store.package_journal(p.package_id)][:2]
    assert kinds == [(EntryKind.WRITE_OFF, -3 * M), (EntryKind.REFUND, 3 * M)]
    assert (await remaining(store))["g"] == 97 * M
    swept = await store.expire_packages()
    assert sorted(swept) == sorted(
        [("smpp-acme", p.package_id, 97 * M), ("smpp-acme", x.package_id, 100 * M)]
    )


async def test_an_account_without_packages_debits_as_before(store: Store) -> None:
    await make_account(store, balance=5_000)
    assert await debit(store, "d1", segments=2) is DebitStatus.OK
    journal = await full_journal(store, "smpp-acme")
    assert [(e.kind, e.amount) for e in journal] == [
        (EntryKind.CREDIT, 5_000),
        (EntryKind.DEBIT, -2_000),
    ]
    [item] = (await store.history("smpp-acme")).items
    assert [(d.source, d.amount) for d in item.drawn_from] == [(CREDITS_SOURCE, 2_000)]
    await store.refund("m-d1", reason="x")
    assert (await store.get_account("smpp-acme")).balance == 5_000


async def test_not_enough_anywhere_refuses_the_whole_message(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    assert await debit(store, "big", segments=102) is DebitStatus.INSUFFICIENT_CREDIT
    assert (await remaining(store))["g"] == 100 * M
    assert (await store.get_account("smpp-acme")).balance == 1_000


async def test_an_account_with_a_usable_package_does_not_close(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store)
    p = await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    with pytest.raises(AccountNotEmpty, match="1 packages"):
        await store.close_account("smpp-acme")
    clock.set(p.expires_at)  # expired: nothing usable is left, whether swept or not
    closed = await store.close_account("smpp-acme")
    assert closed.status is AccountStatus.CLOSED
    await store.expire_packages()


async def test_a_package_paid_message_is_not_repriced(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.buy_package("smpp-acme", "general", 100, idempotency_key="g", name="g")
    assert await debit(store, "d1") is DebitStatus.OK
    with pytest.raises(PackagePaidMessage):
        await store.reprice(
            "m-d1",
            new_cost=2_000,
            pdu_body=b"new",
            segments=2,
            registered_delivery=0,
            idempotency_key="r1",
        )
    assert (await remaining(store))["g"] == 99 * M
    assert (await store.get_account("smpp-acme")).balance == 10_000


async def test_an_alert_on_a_category_fires_once_per_crossing(store: Store) -> None:
    await make_account(store, balance=10_000)
    # Set before any package: nothing is held, so it starts disarmed.
    alert = await store.set_alert("smpp-acme", 50 * M, category="verification")
    assert alert.armed is False
    await store.buy_package("smpp-acme", "verification", 100, idempotency_key="v1")
    await store.buy_package("smpp-acme", "marketing", 100, idempotency_key="m1")
    assert await store.scan_alerts() == 0  # 100 left: re-armed, nothing fired
    for i in range(50):  # down to 50: at the threshold, not below
        assert await debit(store, f"a{i}", category="verification") is DebitStatus.OK
    assert await store.scan_alerts() == 0
    assert await debit(store, "cross", category="verification") is DebitStatus.OK  # 49
    for i in range(5):  # hovering below: nothing more
        assert await debit(store, f"b{i}", category="verification") is DebitStatus.OK
    # Marketing messages move another category's balance: not this alert.
    assert await debit(store, "mk", category="marketing") is DebitStatus.OK
    assert await store.scan_alerts() == 1
    [mail] = await store.unsettled_alert_mails()
    assert (mail.category, mail.threshold, mail.balance) == ("verification", 50 * M, 49 * M)
    assert await store.scan_alerts() == 0
    # Back above (a new package), then below again: a second alert.
    await store.buy_package("smpp-acme", "verification", 100, idempotency_key="v2")
    assert await store.scan_alerts() == 0
    assert (await store.alerts("smpp-acme"))[0].armed is True
    for i in range(100):
        assert await debit(store, f"c{i}", category="verification") is DebitStatus.OK
    assert await store.scan_alerts() == 1
    assert len(await store.unsettled_alert_mails()) == 2


async def test_the_audit_finds_a_tampered_package(store: Store, store_url: str) -> None:
    await make_account(store)
    p = await store.buy_package("smpp-acme", "general", 100, idempotency_key="g")
    raw_sql(store_url, "UPDATE {s}packages SET remaining = remaining - 1000")
    problems = await store.audit()
    assert {(x.check, x.system_id) for x in problems} == {
        (AuditCheck.PACKAGE, p.package_id),
        (AuditCheck.ZERO_SUM, ""),
    }
    raw_sql(store_url, "UPDATE {s}packages SET remaining = remaining + 1000")
    assert await store.audit() == []
