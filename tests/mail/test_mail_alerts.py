"""The alert task (gateway.mail.alerts) on both stores, against a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from gateway.config import SmtpConfig
from gateway.mail.alerts import AlertNotifier, retry_delay
from gateway.mail.messages import message_id
from gateway.mail.sender import Mailer
from ledger.models import DebitStatus
from ledger.store import Store
from tests.ledger.conftest import clock, pg_session_schema, pg_url, store, store_url
from tests.ledger.ledger_helpers import FakeClock, make_account, request
from tests.mail.smtp_server import HOST, ServerOptions, SmtpServer, smtp_server

__all__ = ["clock", "pg_session_schema", "pg_url", "store", "store_url"]

SID = "smpp-acme"
CONTACT = "ops@acme.example"
GW_A, GW_B = "gw-a:2775", "gw-b:2775"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(ServerOptions()) as server:
        yield server


def mailer(server: SmtpServer) -> Mailer:
    settings = SmtpConfig(
        enabled=True,
        host=HOST,
        port=server.port,
        security="none",
        from_address="alerts@gw.example",
        timeout_s=5,
    )
    return Mailer(settings, bind_address="smpp.gw.example:2775")


async def crossed(store: Store, contact: str = CONTACT) -> None:
    """The account (10 credits, alert below 5) debited to 4: one crossing to mail."""
    await make_account(store, SID, balance=10_000, contact_email=contact)
    for gw in (GW_A, GW_B):
        await store.register_gateway(gw, address="127.0.0.1:2775")
    await store.set_alert(SID, 5_000)
    [result] = await store.debit_batch([request("d1", SID, cost=6_000)])
    assert result.status is DebitStatus.OK


def events(logs: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [e for e in logs if e["event"] == name]


async def test_a_crossing_is_mailed_once(store: Store, smtp: SmtpServer) -> None:
    await crossed(store)
    notifier = AlertNotifier(store, mailer(smtp), gateway_id=GW_A)
    with capture_logs() as logs:
        assert await notifier.run_once() == 1
        assert await notifier.run_once() == 0
    [mail] = smtp.received
    assert mail.rcpt_tos == [CONTACT]
    assert mail.message["Subject"] == f"Low balance on {SID}: 4 credits left"
    assert "below the alert threshold of 5 credits" in " ".join(mail.body.split())
    [sent] = events(logs, "alert.sent")
    assert (sent["system_id"], sent["threshold"], sent["balance"], sent["to"]) == (
        SID,
        "5",
        "4",
        CONTACT,
    )
    [(key, outcome)] = await store.alert_mail_outcomes(SID)
    assert (key.startswith(f"alert:{SID}:credits:"), outcome) == (True, "sent")
    # The Message-ID derives from the crossing's key: a resend would carry the same one.
    assert mail.message["Message-ID"] == message_id(key, "gw.example")


@pytest.mark.parametrize(
    ("with_mailer", "contact", "reason"),
    [(False, CONTACT, "smtp not configured"), (True, "", "no contact address")],
)
async def test_without_smtp_or_contact_it_is_logged_once(
    store: Store, smtp: SmtpServer, with_mailer: bool, contact: str, reason: str
) -> None:
    await crossed(store, contact)
    notifier = AlertNotifier(store, mailer(smtp) if with_mailer else None, gateway_id=GW_A)
    with capture_logs() as logs:
        await notifier.run_once()
        await notifier.run_once()
    [unsent] = events(logs, "alert.unsent")
    assert (unsent["reason"], unsent["threshold"], unsent["balance"]) == (reason, "5", "4")
    assert smtp.received == []
    assert [o for _, o in await store.alert_mail_outcomes(SID)] == ["unsent"]


async def test_a_temporary_failure_is_retried_later_and_sent_once(
    store: Store, smtp: SmtpServer, clock: FakeClock
) -> None:
    await crossed(store)
    smtp.options.rcpt_reply = "451 4.3.0 try again later"
    outcomes: list[str] = []
    notifier = AlertNotifier(store, mailer(smtp), gateway_id=GW_A, count=outcomes.append)
    with capture_logs() as logs:
        await notifier.run_once()
    [failed] = events(logs, "alert.failed")
    assert (failed["temporary"], failed["retry_in_s"]) == (True, retry_delay(1))
    smtp.options.rcpt_reply = None
    await notifier.run_once()  # too early: deferred for a minute
    assert smtp.received == []
    clock.advance(seconds=retry_delay(1) + 1)
    other = AlertNotifier(store, mailer(smtp), gateway_id=GW_B)
    await other.run_once()  # any gateway may retry it
    await notifier.run_once()
    assert len(smtp.received) == 1
    assert outcomes == ["deferred"]  # the other gateway counted the send
    [mail] = await store.alert_mail_outcomes(SID)
    assert mail[1] == "sent"


async def test_a_permanent_failure_is_set_aside(store: Store, smtp: SmtpServer) -> None:
    await crossed(store)
    smtp.options.rcpt_reply = "550 5.1.1 no such mailbox"
    notifier = AlertNotifier(store, mailer(smtp), gateway_id=GW_A)
    with capture_logs() as logs:
        await notifier.run_once()
        smtp.options.rcpt_reply = None
        await notifier.run_once()
    [failed] = events(logs, "alert.failed")
    assert (failed["temporary"], failed["retry_in_s"]) == (False, None)
    assert smtp.received == []
    assert [o for _, o in await store.alert_mail_outcomes(SID)] == ["rejected"]


async def test_a_gateway_that_died_after_claiming_loses_the_alert_to_another(
    store: Store, smtp: SmtpServer, clock: FakeClock
) -> None:
    await crossed(store)
    await store.scan_alerts()
    # Gateway A claimed it and died before sending (committed, never mailed).
    [claimed] = await store.claim_alert_mails(GW_A, lease=60)
    survivor = AlertNotifier(store, mailer(smtp), gateway_id=GW_B, lease=60)
    assert await survivor.run_once() == 0  # A's claim still holds
    clock.advance(seconds=61)
    assert await survivor.run_once() == 1
    assert await survivor.run_once() == 0
    restarted = AlertNotifier(store, mailer(smtp), gateway_id=GW_A)
    assert await restarted.run_once() == 0  # settled: A back does not send it again
    [mail] = smtp.received
    assert claimed.key in [k for k, _ in await store.alert_mail_outcomes(SID)]
    assert mail.rcpt_tos == [CONTACT]


def test_retries_back_off_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]
