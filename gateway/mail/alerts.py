"""Alert and recharge mails: a small periodic task of each gateway, off the debit path.

The alert outbox holds low-balance alerts (queued by the scan below) and recharge
notices (an auto-recharge fired, or refused by the daily cap: queued by the debit
transaction that decided it, see ``ledger.rules.notices``); each is mailed and settled
alike, logged with its ``kind``.

Each round (:meth:`AlertNotifier.run_once`):

1. ``store.scan_alerts()`` walks the journal entries new since the last round for the
   accounts that have an alert (only those whose balance moved are read) and, in the
   same transaction, disarms each alert that crossed below its threshold and queues it
   in the ledger's alert outbox: one queued alert per crossing, whichever gateway
   scans (see ``ledger.core.alerts``);
2. ``store.claim_alert_mails()`` takes the queued alerts for a while, so two gateways
   never both send one;
3. each is mailed to the account's contact (:class:`~gateway.mail.sender.Mailer`) and
   settled: ``alert.sent``; or, without ``[smtp]`` or without a contact address,
   logged once as ``alert.unsent`` and settled; a temporary SMTP failure defers it (a
   later round retries, with backoff), a permanent one settles it as rejected
   (``alert.failed`` either way).

A debit never waits for any of this: its transaction is the same with or without
alerts, and the mail goes out within one round (``interval``) of the crossing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, assert_never

import structlog

from gateway.mail.errors import MailError
from gateway.mail.messages import (
    CREDITS,
    LowBalance,
    Notice,
    RechargeCapped,
    RechargeFired,
    compose,
)
from gateway.mail.sender import Mailer
from ledger.errors import LedgerError
from ledger.models import milli_to_credits
from ledger.models.notices import AlertMail, AlertOutcome, NoticeKind
from ledger.store import AlertStore

#: Seconds between two rounds.
DEFAULT_INTERVAL = 5.0
#: Seconds a claimed alert is ours before another gateway may take it.
CLAIM_LEASE = 60.0
#: Backoff after a temporary SMTP failure: first retry, and at most.
RETRY_FIRST_S = 60.0
RETRY_MAX_S = 3600.0


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of an alert claimed ``attempts`` times (doubling)."""
    doubled: float = RETRY_FIRST_S * 2.0 ** max(attempts - 1, 0)
    return min(doubled, RETRY_MAX_S)


class AlertNotifier:
    """Scans for crossed alerts and mails them; ``mailer`` None: ``[smtp]`` is off.

    ``count`` is told each alert's outcome (``Metrics.alert_handled``).
    """

    def __init__(
        self,
        store: AlertStore,
        mailer: Mailer | None,
        *,
        gateway_id: str,
        lease: float = CLAIM_LEASE,
        count: Callable[[str], None] | None = None,
        log: Any = None,
    ) -> None:
        self.store = store
        #: Called with each alert's outcome (sent, unsent, rejected, deferred): metrics.
        self.count = count or (lambda _outcome: None)
        self.mailer = mailer
        self.gateway_id = gateway_id
        self.lease = lease
        self.log = log or structlog.get_logger("smppgw.alerts")

    async def run_once(self) -> int:
        """One round: scan, claim, mail; how many alerts were settled or deferred."""
        await self.store.scan_alerts()
        mails = await self.store.claim_alert_mails(self.gateway_id, lease=self.lease)
        for mail in mails:
            await self._deliver(mail)
        return len(mails)

    async def _deliver(self, alert: AlertMail) -> None:
        facts: dict[str, object] = {
            "system_id": alert.system_id,
            "kind": alert.kind.value,
            "category": alert.category or CREDITS,
            "threshold": milli_to_credits(alert.threshold),
            "balance": milli_to_credits(alert.balance),
            "key": alert.key,
        }
        if alert.kind is not NoticeKind.LOW_BALANCE:
            facts["amount"] = milli_to_credits(alert.amount)
            facts["recharges_today"] = alert.recharges_today
            facts["daily_cap"] = alert.daily_cap
        if self.mailer is None or not alert.contact_email:
            reason = "smtp not configured" if self.mailer is None else "no contact address"
            # Settled, so it is logged once and never mailed late, when the news is stale.
            await self.store.settle_alert_mail(alert.id, AlertOutcome.UNSENT, reason)
            self.log.warning("alert.unsent", reason=reason, **facts)
            self.count(AlertOutcome.UNSENT.value)
            return
        mail = compose(notice_of(alert), at=alert.created_at)
        try:
            message_id = await self.mailer.send(mail)
        except MailError as e:
            if e.temporary:
                delay = retry_delay(alert.attempts)
                await self.store.defer_alert_mail(alert.id, delay, str(e))
                self.count("deferred")
            else:
                delay = None
                await self.store.settle_alert_mail(alert.id, AlertOutcome.REJECTED, str(e))
                self.count(AlertOutcome.REJECTED.value)
            self.log.warning(
                "alert.failed",
                to=alert.contact_email,
                temporary=e.temporary,
                retry_in_s=delay,
                reason=str(e),
                **facts,
            )
            return
        await self.store.settle_alert_mail(alert.id, AlertOutcome.SENT, message_id)
        self.log.info("alert.sent", to=alert.contact_email, **facts)
        self.count(AlertOutcome.SENT.value)


def notice_of(alert: AlertMail) -> Notice:
    """What the outbox row ``alert`` tells its account's contact, as a mail notice."""
    match alert.kind:
        case NoticeKind.LOW_BALANCE:
            return LowBalance(
                system_id=alert.system_id,
                to=alert.contact_email,
                category=alert.category or CREDITS,
                threshold=alert.threshold,
                balance=alert.balance,
                key=alert.key,
            )
        case NoticeKind.RECHARGE_FIRED:
            return RechargeFired(
                system_id=alert.system_id,
                to=alert.contact_email,
                amount=alert.amount,
                balance_after=alert.balance,
                recharges_today=alert.recharges_today,
                daily_cap=alert.daily_cap,
                key=alert.key,
            )
        case NoticeKind.RECHARGE_CAPPED:
            return RechargeCapped(
                system_id=alert.system_id,
                to=alert.contact_email,
                balance=alert.balance,
                threshold=alert.threshold,
                amount=alert.amount,
                daily_cap=alert.daily_cap,
                key=alert.key,
            )
        case _:
            assert_never(alert.kind)


@asynccontextmanager
async def alert_notifications(
    notifier: AlertNotifier, *, interval: float = DEFAULT_INTERVAL
) -> AsyncIterator[AlertNotifier]:
    """Run ``notifier`` now and every ``interval`` seconds until the block exits."""
    task = asyncio.get_running_loop().create_task(_rounds(notifier, interval))
    try:
        yield notifier
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _rounds(notifier: AlertNotifier, interval: float) -> None:
    while True:
        try:
            await notifier.run_once()
        except LedgerError as e:
            # The ledger is down: nothing was lost (queued alerts wait in the ledger).
            notifier.log.warning("alert.scan_failed", error=repr(e))
        await asyncio.sleep(interval)
