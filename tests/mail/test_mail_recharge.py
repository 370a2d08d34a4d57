"""Recharge mails (an auto-recharge fired, one refused by the daily cap) on both stores,
queued by the debit transaction and mailed through a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from gateway.mail.alerts import AlertNotifier
from gateway.mail.messages import message_id
from ledger.models import DebitStatus, RechargePolicy
from ledger.models.notices import NoticeKind
from ledger.store import Store
from tests.ledger.conftest import clock, pg_session_schema, pg_url, store, store_url
from tests.ledger.ledger_helpers import FakeClock, make_account, request
from tests.mail.smtp_server import ServerOptions, SmtpServer, smtp_server
from tests.mail.test_mail_alerts import CONTACT, GW_A, GW_B, SID, events, mailer

__all__ = ["clock", "pg_session_schema", "pg_url", "store", "store_url"]

#: Recharge 100 credits when a debit leaves 5 or less, once a UTC day.
POLICY = RechargePolicy(threshold=5_000, amount=100_000, daily_cap=1)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(ServerOptions()) as server:
        yield server


async def account(store: Store, balance: int = 10_000) -> None:
    await make_account(store, SID, balance=balance, contact_email=CONTACT)
    for gw in (GW_A, GW_B):
        await store.register_gateway(gw, address="127.0.0.1:2775")
    await store.set_recharge(SID, POLICY)


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_a_recharge_fired_is_queued_with_its_debit_and_mailed_once(
    store: Store, smtp: SmtpServer
) -> None:
    await account(store)
    [ok] = await store.debit_batch([request("d1", SID, cost=6_000)])
    assert (ok.status, ok.balance_after) == (DebitStatus.OK, 104_000)
    # Queued by the debit's own transaction, before any notifier ran.
    [queued] = await store.unsettled_alert_mails()
    [recharge] = ok.recharges
    assert (queued.kind, queued.amount, queued.balance) == (
        NoticeKind.RECHARGE_FIRED,
        100_000,
        104_000,
    )
    assert (queued.entry_id, queued.recharges_today, queued.daily_cap) == (recharge.id, 1, 1)
    # A replay of the debit (the client retried) queues nothing more.
    [again] = await store.debit_batch([request("d1", SID, cost=6_000)])
    assert again.status is DebitStatus.DUPLICATE
    assert len(await store.unsettled_alert_mails()) == 1
    assert (await store.backlog()).mail_outbox == 1

    notifier = AlertNotifier(store, mailer(smtp), gateway_id=GW_A)
    with capture_logs() as logs:
        assert await notifier.run_once() == 1
        assert await AlertNotifier(store, mailer(smtp), gateway_id=GW_B).run_once() == 0
    [mail] = smtp.received
    assert (await store.backlog()).mail_outbox == 0
    assert mail.rcpt_tos == [CONTACT]
    assert mail.message["Subject"] == f"Auto-recharge on {SID}: 100 credits added"
    body = flat(mail.body)
    assert "balance after the recharge 104 credits" in body
    assert "recharges today (UTC) 1 of 1 allowed" in body
    [sent] = events(logs, "alert.sent")
    assert (sent["kind"], sent["amount"], sent["balance"]) == ("recharge_fired", "100", "104")
    [(key, outcome)] = await store.alert_mail_outcomes(SID)
    assert (key, outcome) == ("notice:recharge_fired:recharge:d1", "sent")
    assert mail.message["Message-ID"] == message_id(key, "gw.example")


async def test_the_daily_cap_is_mailed_once_a_day(
    store: Store, smtp: SmtpServer, clock: FakeClock
) -> None:
    await account(store)
    # 10 -> 4 fires today's one recharge (104); 104 -> 4 crosses again: capped.
    results = await store.debit_batch(
        [request("d1", SID, cost=6_000), request("d2", SID, cost=100_000)]
    )
    assert [r.balance_after for r in results] == [104_000, 4_000]
    # Refused for want of credit while capped, in this batch and the next: no new notice.
    refused = await store.debit_batch(
        [request("d3", SID, cost=10_000), request("d4", SID, cost=10_000)]
    )
    assert {r.status for r in refused} == {DebitStatus.INSUFFICIENT_CREDIT}
    kinds = [m.kind for m in await store.unsettled_alert_mails()]
    assert kinds == [NoticeKind.RECHARGE_FIRED, NoticeKind.RECHARGE_CAPPED]

    notifier = AlertNotifier(store, mailer(smtp), gateway_id=GW_A)
    assert await notifier.run_once() == 2
    fired, capped = smtp.received
    assert fired.message["Subject"] == f"Auto-recharge on {SID}: 100 credits added"
    assert capped.message["Subject"] == f"Auto-recharge not done on {SID}: daily limit reached"
    assert capped.rcpt_tos == [CONTACT]
    body = flat(capped.body)
    assert f"The balance of your SMPP account {SID} is 4 credits" in body
    assert "auto-recharge threshold of 5 credits" in body
    assert "the daily limit of 1 recharge of 100 credits per UTC day is reached" in body

    # The next UTC day the recharge fires again; a refusal that day is told again.
    clock.advance(days=1)
    [ok] = await store.debit_batch([request("d5", SID, cost=10_000)])  # recharged first
    assert (ok.status, ok.balance_after) == (DebitStatus.OK, 94_000)
    await store.debit_batch([request("d6", SID, cost=90_000)])  # 4 left: capped
    await store.debit_batch([request("d7", SID, cost=10_000)])  # refused: same day
    await notifier.run_once()
    subjects = [m.message["Subject"].split(":")[0] for m in smtp.received]
    assert subjects == [f"Auto-recharge on {SID}", f"Auto-recharge not done on {SID}"] * 2
    keys = [k for k, _ in await store.alert_mail_outcomes(SID)]
    day2 = clock.now.date()
    day1 = day2 - timedelta(days=1)
    assert keys == [
        "notice:recharge_fired:recharge:d1",
        f"notice:recharge_capped:{SID}:{day1.isoformat()}",
        "notice:recharge_fired:recharge:d5",
        f"notice:recharge_capped:{SID}:{day2.isoformat()}",
    ]


async def test_a_debit_refused_at_the_cap_alone_is_mailed(store: Store, smtp: SmtpServer) -> None:
    await account(store, balance=2_000)
    # Below the threshold already: the first debit it cannot pay recharges first...
    [first] = await store.debit_batch([request("d1", SID, cost=3_000)])
    assert (first.status, first.balance_after) == (DebitStatus.OK, 99_000)
    # ... and one the balance cannot pay after the day's recharge is refused, told once.
    [refused] = await store.debit_batch([request("d2", SID, cost=200_000)])
    assert (refused.status, refused.balance_after) == (DebitStatus.INSUFFICIENT_CREDIT, 99_000)
    # Cost beyond balance + recharge: a recharge would not have saved it, so no notice.
    assert [m.kind for m in await store.unsettled_alert_mails()] == [NoticeKind.RECHARGE_FIRED]
    [refused] = await store.debit_batch([request("d3", SID, cost=99_500)])
    assert refused.status is DebitStatus.INSUFFICIENT_CREDIT
    kinds = [m.kind for m in await store.unsettled_alert_mails()]
    assert kinds == [NoticeKind.RECHARGE_FIRED, NoticeKind.RECHARGE_CAPPED]
    await AlertNotifier(store, mailer(smtp), gateway_id=GW_A).run_once()
    assert "is 99 credits" in flat(smtp.received[1].body)


async def test_without_smtp_a_recharge_notice_is_logged_once(store: Store) -> None:
    await account(store)
    await store.debit_batch([request("d1", SID, cost=6_000)])
    notifier = AlertNotifier(store, None, gateway_id=GW_A)
    with capture_logs() as logs:
        await notifier.run_once()
        await notifier.run_once()
    [unsent] = events(logs, "alert.unsent")
    assert (unsent["kind"], unsent["reason"]) == ("recharge_fired", "smtp not configured")
