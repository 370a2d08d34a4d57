"""Low-balance alerts on both stores: settings, the scan, the alert outbox."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidAccountData, InvalidRequest, LimitExceeded, UnknownAccount
from ledger.models import DebitStatus, RechargePolicy
from ledger.models.notices import AlertOutcome, NoticeKind
from ledger.store import Store
from tests.ledger.conftest import StoreFactory
from tests.ledger.ledger_helpers import FakeClock, make_account, request

GW = "gw-a:2775"


async def debit(store: Store, key: str, cost: int, system_id: str = "smpp-acme") -> None:
    [result] = await store.debit_batch([request(key, system_id, cost=cost)])
    assert result.status is DebitStatus.OK, result


async def fired(store: Store, system_id: str = "smpp-acme") -> list[tuple[int, int]]:
    """(threshold, balance) of every low-balance alert queued for the account, oldest
    first (recharge notices share the outbox)."""
    return [
        (m.threshold, m.balance)
        for m in await store.unsettled_alert_mails()
        if m.system_id == system_id and m.kind is NoticeKind.LOW_BALANCE
    ]


async def test_set_show_replace_clear(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=10_000, contact_email="ops@acme.example")
    alert = await store.set_alert("smpp-acme", 5_000)
    assert (alert.system_id, alert.category, alert.threshold, alert.armed) == (
        "smpp-acme",
        None,
        5_000,
        True,
    )
    assert alert.updated_at == clock.now
    [seed] = await store.journal("smpp-acme", limit=1)
    assert alert.checked_through == seed.id  # starts from now, not from history
    again = await store.set_alert("smpp-acme", 20_000)  # replaces; below it: disarmed
    assert (again.threshold, again.armed) == (20_000, False)
    assert await store.alerts("smpp-acme") == [again]
    assert await store.clear_alert("smpp-acme") is True
    assert await store.clear_alert("smpp-acme") is False
    assert await store.alerts("smpp-acme") == []


async def test_a_category_alert_is_its_own_row(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_alert("smpp-acme", 5_000)
    await store.set_alert("smpp-acme", 3_000, category="verification")
    alerts = await store.alerts("smpp-acme")
    assert [(a.category, a.threshold) for a in alerts] == [(None, 5_000), ("verification", 3_000)]
    assert await store.clear_alert("smpp-acme", category="verification") is True
    assert [a.category for a in await store.alerts("smpp-acme")] == [None]


async def test_refusals_write_nothing(store: Store) -> None:
    await make_account(store, balance=10_000)
    with pytest.raises(UnknownAccount):
        await store.set_alert("smpp-nobody", 5_000)
    with pytest.raises(UnknownAccount):
        await store.alerts("smpp-nobody")
    with pytest.raises(UnknownAccount):
        await store.clear_alert("smpp-nobody")
    with pytest.raises(InvalidAccountData):
        await store.set_alert("smpp-acme", 0)
    with pytest.raises(InvalidAccountData):
        await store.set_alert("smpp-acme", 5_000, category="promo")
    with pytest.raises(LimitExceeded):
        await store.set_alert("smpp-acme", 2**62)
    assert await store.alerts("smpp-acme") == []


async def test_one_alert_per_downward_crossing(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_alert("smpp-acme", 5_000)
    assert await store.scan_alerts() == 0  # nothing new in the journal
    await debit(store, "d1", 4_000)  # 6 credits: above
    await debit(store, "d2", 2_000)  # 4: the crossing
    await debit(store, "d3", 1_000)  # 3: still below
    assert await store.scan_alerts() == 1
    assert await fired(store) == [(5_000, 4_000)]
    [alert] = await store.alerts("smpp-acme")
    assert alert.armed is False
    await debit(store, "d4", 1_000)  # 2: hovering below sends no more
    assert await store.scan_alerts() == 0
    await store.credit("smpp-acme", 3_000, idempotency_key="top-up")  # 5: re-arms
    await debit(store, "d5", 500)  # 4.5: a second crossing
    assert await store.scan_alerts() == 1
    assert await fired(store) == [(5_000, 4_000), (5_000, 4_500)]
    assert await store.scan_alerts() == 0


async def test_a_dip_and_back_between_two_scans_still_fires(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_alert("smpp-acme", 5_000)
    await debit(store, "d1", 6_000)
    await store.credit("smpp-acme", 6_000, idempotency_key="c1")
    assert await store.scan_alerts() == 1
    [alert] = await store.alerts("smpp-acme")
    assert alert.armed is True


async def test_alert_set_below_the_threshold_waits_for_the_balance_to_come_back(
    store: Store,
) -> None:
    await make_account(store, balance=2_000)
    assert (await store.set_alert("smpp-acme", 5_000)).armed is False
    await debit(store, "d1", 500)
    assert await store.scan_alerts() == 0
    await store.credit("smpp-acme", 10_000, idempotency_key="c1")
    await debit(store, "d2", 9_000)
    assert await store.scan_alerts() == 1


async def test_transfers_move_alerts_on_both_sides(store: Store) -> None:
    await make_account(store, "smpp-a", balance=10_000, owner="acme")
    await make_account(store, "smpp-b", balance=1_000, owner="acme")
    await store.set_alert("smpp-a", 5_000)
    await store.set_alert("smpp-b", 5_000)
    await store.transfer("smpp-a", "smpp-b", 6_000, idempotency_key="t1")
    assert await store.scan_alerts() == 1  # smpp-a went below; smpp-b came up (re-armed)
    assert await fired(store, "smpp-a") == [(5_000, 4_000)]
    await store.transfer("smpp-b", "smpp-a", 3_000, idempotency_key="t2")
    assert await store.scan_alerts() == 1  # smpp-b 4 below; smpp-a back to 7
    assert await fired(store, "smpp-b") == [(5_000, 4_000)]


async def test_a_debit_rescued_by_its_recharge_does_not_fire(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_recharge(
        "smpp-acme", RechargePolicy(threshold=5_000, amount=100_000, daily_cap=1)
    )
    await store.set_alert("smpp-acme", 5_000)
    await debit(store, "d1", 6_000)  # 4 then recharged to 104: one step, above
    assert await store.scan_alerts() == 0
    # The cap is used up: the next crossing stays below, and fires.
    await debit(store, "d2", 100_000)
    assert await store.scan_alerts() == 1
    assert await fired(store) == [(5_000, 4_000)]


async def test_a_backlog_is_walked_in_short_transactions(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_alert("smpp-acme", 5_000)
    for i in range(7):  # 9, 8, ... 3: crosses at the 6th debit (4)
        await debit(store, f"d{i}", 1_000)
    assert await store.scan_alerts(page=2) == 1
    assert await fired(store) == [(5_000, 4_000)]
    [alert] = await store.alerts("smpp-acme")
    [last] = await store.journal("smpp-acme", limit=1)
    assert (alert.armed, alert.checked_through) == (False, last.id)
    with pytest.raises(InvalidRequest):
        await store.scan_alerts(page=1)


@pytest.mark.parametrize("page", [2, 3, 4])
async def test_a_page_never_splits_a_debit_from_its_recharge(store: Store, page: int) -> None:
    await make_account(store, balance=10_000)
    policy = RechargePolicy(threshold=5_000, amount=100_000, daily_cap=10)
    await store.set_recharge("smpp-acme", policy)
    await store.set_alert("smpp-acme", 5_000)
    # Each leaves 4 credits and is recharged at once (104): never a step below 5.
    await debit(store, "d1", 6_000)
    for i in range(2, 6):
        await debit(store, f"d{i}", 100_000)
    assert await store.scan_alerts(page=page) == 0
    [alert] = await store.alerts("smpp-acme")
    [last] = await store.journal("smpp-acme", limit=1)
    assert (alert.armed, alert.checked_through) == (True, last.id)


async def test_two_gateways_scanning_queue_each_crossing_once(
    store: Store, open_peer: StoreFactory
) -> None:
    import asyncio

    other = await open_peer()
    names = [f"smpp-{i}" for i in range(8)]
    for name in names:
        await make_account(store, name, balance=10_000)
        await store.set_alert(name, 5_000)
        await debit(store, f"{name}-d", 6_000, name)
    counts = await asyncio.gather(*(s.scan_alerts() for s in (store, other, store, other)))
    assert sum(counts) == len(names)
    assert len(await store.unsettled_alert_mails()) == len(names)


async def test_the_outbox_claims_settles_and_defers(
    store: Store, clock: FakeClock, open_peer: StoreFactory
) -> None:
    await make_account(store, balance=10_000, contact_email="ops@acme.example")
    await store.register_gateway(GW, address="127.0.0.1:2775")
    await store.register_gateway("gw-b:2775", address="127.0.0.1:2776")
    await store.set_alert("smpp-acme", 5_000)
    await debit(store, "d1", 6_000)
    await store.scan_alerts()
    [mail] = await store.claim_alert_mails(GW, lease=60)
    assert (mail.contact_email, mail.threshold, mail.balance, mail.attempts) == (
        "ops@acme.example",
        5_000,
        4_000,
        1,
    )
    assert mail.key == f"alert:smpp-acme:credits:{mail.entry_id}"
    other = await open_peer()
    assert await other.claim_alert_mails("gw-b:2775") == []  # claimed by GW
    # GW restarting under its own id takes its claim back at once.
    [again] = await store.claim_alert_mails(GW)
    assert (again.id, again.attempts) == (mail.id, 2)
    await store.defer_alert_mail(mail.id, 30, "421 try later")
    assert await store.claim_alert_mails(GW) == []
    clock.advance(seconds=31)
    [later] = await other.claim_alert_mails("gw-b:2775")
    assert later.id == mail.id
    clock.advance(seconds=61)  # gw-b died holding it: the claim runs out
    [taken] = await store.claim_alert_mails(GW)
    await store.settle_alert_mail(taken.id, AlertOutcome.SENT, "<id@x>")
    assert await store.claim_alert_mails(GW) == []
    assert await store.unsettled_alert_mails() == []
    assert await store.alert_mail_outcomes("smpp-acme") == [(mail.key, "sent")]


async def test_clearing_an_alert_keeps_what_it_queued(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_alert("smpp-acme", 5_000)
    await debit(store, "d1", 6_000)
    await store.scan_alerts()
    await store.clear_alert("smpp-acme")
    assert await fired(store) == [(5_000, 4_000)]
    await debit(store, "d2", 1_000)
    assert await store.scan_alerts() == 0
