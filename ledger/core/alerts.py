"""Low-balance alerts over a backend: settings, the scan that fires them, their outbox.

The debit path is not touched. A scan (:meth:`AlertsCore.scan_alerts`, run by a small
periodic task of each gateway) walks, for each credit-balance alert whose account has
journal entries it has not seen, those entries in order with the pure rule of
``ledger.rules.alerts``, and in the SAME transaction records the alert's new armed
state and cursor and queues each firing in ``alert_outbox``. PostgreSQL locks the alert
rows it scans (``SKIP LOCKED``: two gateways scan disjoint alerts), SQLite's write lock
holds everything, so each crossing is queued once however many gateways scan.

The mail goes out after that commits: a gateway claims queued alerts for a while
(:meth:`AlertsCore.claim_alert_mails`), sends, and settles each one
(:meth:`AlertsCore.settle_alert_mail`) or defers it after a temporary failure. A
gateway that dies holding a claim loses it when the claim runs out (or at once when it
restarts under the same id), so an alert queued is mailed even across a crash: at least
once, and twice only if the process dies between the SMTP server's answer and the
settling, in which case both copies carry the same Message-ID.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from ledger.backends import package_sql as psql
from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Access, Execute, Fetch, Script, do
from ledger.core.base import CoreBase
from ledger.errors import InvalidRequest, UnknownAccount
from ledger.models import EntryKind
from ledger.models.notices import AlertMail, AlertOutcome, BalanceAlert
from ledger.rules.alerts import (
    alert_mail_key,
    armed_for,
    balance_steps,
    category_steps,
    scan,
    validate_alert,
)
from ledger.rules.validation import require_gateway_id

#: Journal entries one scan transaction reads at most (the rest: the next transaction).
SCAN_PAGE = 2_000
#: Transactions one ``scan_alerts`` call runs at most.
SCAN_TRANSACTIONS = 100
#: Alerts one scan transaction takes at most.
SCAN_ALERTS = 500


def _set(
    system_id: str, category: str | None, threshold: int, now: datetime
) -> Script[BalanceAlert]:
    if not (yield from do(Fetch(sql.LOCK_ACCOUNT, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    if category is None:
        start = Fetch(sql.ALERT_START, (system_id,), rows.pair)
    else:
        start = Fetch(psql.CATEGORY_START, (system_id, category), rows.pair)
    [(balance, last_id)] = yield from do(start)
    # Under the account's lock no entry is being written: the alert starts from the
    # balance as it is now (a category's: what its packages hold), armed if it is at or
    # above the threshold.
    armed = armed_for(balance, threshold)
    key = category or ""
    changed = yield from do(
        Execute(sql.UPDATE_ALERT, (system_id, key, threshold, armed, last_id, now))
    )
    if not changed:
        yield from do(
            Execute(sql.INSERT_ALERT, (system_id, category, threshold, armed, last_id, now))
        )
    return (yield from _find(system_id, category))


def _find(system_id: str, category: str | None) -> Script[BalanceAlert]:
    found = yield from do(Fetch(sql.ALERTS_OF, (system_id,), rows.balance_alert))
    [alert] = [a for a in found if a.category == category]
    return alert


def _alerts(system_id: str) -> Script[list[BalanceAlert]]:
    if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    return (yield from do(Fetch(sql.ALERTS_OF, (system_id,), rows.balance_alert)))


def _clear(system_id: str, category: str | None) -> Script[bool]:
    if not (yield from do(Fetch(sql.LOCK_ACCOUNT, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    deleted = yield from do(Execute(sql.DELETE_ALERT, (system_id, category or "")))
    return deleted > 0


def _scan(now: datetime, budget: int) -> Script[tuple[int, bool]]:
    """Scan due alerts, reading at most ``budget`` journal entries in all.

    Returns how many alerts were queued, and whether work is left (the budget ran out).
    """
    due = yield from do(Fetch(sql.DUE_ALERTS, (SCAN_ALERTS,), rows.balance_alert))
    queued, left = 0, budget
    more = len(due) == SCAN_ALERTS
    for alert in due:
        if left < 2:
            more = True
            break
        limit = left
        entries = yield from do(
            Fetch(sql.ALERT_STEPS, (alert.system_id, alert.checked_through, limit), rows.alert_step)
        )
        left -= len(entries)
        if len(entries) == limit:
            more = True
            if entries[-1].kind is EntryKind.DEBIT:
                # The page may end with a debit whose recharge is on the next one: leave
                # it for the next transaction, so the pair is judged as one step.
                entries = entries[:-1]
        steps = balance_steps(entries)
        through = entries[-1].entry_id if entries else alert.checked_through
        result = scan(alert.armed, alert.threshold, steps, through)
        for fired in result.fired:
            key = alert_mail_key(alert.system_id, alert.category, fired.entry_id)
            yield from do(
                Execute(
                    sql.INSERT_ALERT_MAIL,
                    (
                        key,
                        alert.system_id,
                        alert.category,
                        alert.threshold,
                        fired.balance,
                        fired.entry_id,
                        now,
                    ),
                )
            )
            queued += 1
        yield from do(
            Execute(
                sql.SET_ALERT_SCAN,
                (alert.system_id, alert.category or "", result.armed, result.through),
            )
        )
    if left >= 2:
        done, more_categories = yield from _scan_categories(now, left)
        queued += done
        more = more or more_categories
    return queued, more


def _scan_categories(now: datetime, budget: int) -> Script[tuple[int, bool]]:
    """The same walk for alerts on a package category, over the package journal."""
    due = yield from do(Fetch(psql.DUE_CATEGORY_ALERTS, (SCAN_ALERTS,), rows.balance_alert))
    queued, left = 0, budget
    more = len(due) == SCAN_ALERTS
    for alert in due:
        if left < 1:
            more = True
            break
        assert alert.category is not None
        key = (alert.system_id, alert.category)
        [now_total] = yield from do(Fetch(psql.CATEGORY_START, key, rows.first))
        [after] = yield from do(
            Fetch(psql.CATEGORY_AFTER, (*key, alert.checked_through), rows.first)
        )
        limit = left
        found = yield from do(
            Fetch(psql.CATEGORY_STEPS, (*key, alert.checked_through, limit), rows.pair)
        )
        left -= len(found)
        more = more or len(found) == limit
        steps = category_steps(now_total - after, found)
        through = steps[-1].entry_id if steps else alert.checked_through
        result = scan(alert.armed, alert.threshold, steps, through)
        for fired in result.fired:
            mail_key = alert_mail_key(alert.system_id, alert.category, fired.entry_id)
            args = (mail_key, alert.system_id, alert.category, alert.threshold, fired.balance)
            yield from do(Execute(sql.INSERT_ALERT_MAIL, (*args, fired.entry_id, now)))
            queued += 1
        yield from do(Execute(sql.SET_ALERT_SCAN, (*key, result.armed, result.through)))
    return queued, more


def _claim(gateway_id: str, now: datetime, until: datetime, limit: int) -> Script[list[AlertMail]]:
    ids = yield from do(Fetch(sql.CLAIM_ALERT_MAILS, (gateway_id, now, until, limit), rows.first))
    if not ids:
        return []
    return (yield from do(Fetch(sql.ALERT_MAILS, (sorted(ids),), rows.alert_mail)))


class AlertsCore(CoreBase):
    """``AlertStore`` over a backend."""

    async def set_alert(
        self, system_id: str, threshold: int, *, category: str | None = None
    ) -> BalanceAlert:
        """Set (or replace) the account's alert on a balance; it starts from now.

        Armed if the balance is at or above ``threshold`` now. Raises UnknownAccount,
        InvalidAccountData (a threshold <= 0, an unknown category), LimitExceeded (a
        threshold above ``max_balance``).
        """
        cat = validate_alert(threshold, category, self._limits)
        return await self._run(
            partial(_set, system_id, cat, threshold, self._now()), Access.TRANSACTION
        )

    async def alerts(self, system_id: str) -> list[BalanceAlert]:
        """The account's alerts, the credit balance's first. Raises UnknownAccount."""
        return await self._run(partial(_alerts, system_id), Access.READ)

    async def clear_alert(self, system_id: str, *, category: str | None = None) -> bool:
        """Remove the account's alert on a balance; False if it had none.

        Alerts already queued are still mailed. Raises UnknownAccount.
        """
        return await self._run(partial(_clear, system_id, category), Access.TRANSACTION)

    async def scan_alerts(self, *, page: int = SCAN_PAGE) -> int:
        """Walk the journal entries new since the last scan of every credit-balance alert.

        Each crossing below a threshold disarms its alert and is queued in the alert
        outbox, in the transaction that records the alert's new state (once, whichever
        gateway scans); a step back at or above it re-arms. Returns how many were
        queued. Each transaction reads at most ``page`` entries, so a backlog is walked
        in short transactions that debits interleave with (SQLite has one writer).
        """
        if page < 2:
            raise InvalidRequest(f"page must be at least 2, not {page}")
        total = 0
        # Bounded, so that accounts debited faster than a scan walks cannot keep one
        # call going for ever; the next call goes on from the cursors.
        for _ in range(SCAN_TRANSACTIONS):
            queued, more = await self._run(partial(_scan, self._now(), page), Access.TRANSACTION)
            total += queued
            if not more:
                break
        return total

    async def claim_alert_mails(
        self, gateway_id: str, *, lease: float = 60.0, limit: int = 100
    ) -> list[AlertMail]:
        """Claim queued alerts for ``lease`` seconds, oldest first, with their contacts.

        Takes those unclaimed, whose claim ran out, or claimed by ``gateway_id`` itself;
        two gateways claiming at once never share one.
        """
        require_gateway_id(gateway_id, "claiming alert mails")
        if limit < 1:
            raise InvalidRequest(f"limit must be at least 1, not {limit}")
        now = self._now()
        until = now + timedelta(seconds=lease)
        return await self._run(partial(_claim, gateway_id, now, until, limit), Access.TRANSACTION)

    async def settle_alert_mail(
        self, mail_id: int, outcome: AlertOutcome, detail: str = ""
    ) -> None:
        """The alert is done: mailed, not mailed on purpose, or refused for good."""
        outcome = AlertOutcome(outcome)
        args = (mail_id, self._now(), outcome.value, detail)
        await self._statement(Execute(sql.SETTLE_ALERT_MAIL, args))

    async def defer_alert_mail(self, mail_id: int, retry_after: float, detail: str) -> None:
        """Sending failed for now: any gateway may claim it again ``retry_after`` s from now."""
        until = self._now() + timedelta(seconds=retry_after)
        await self._statement(Execute(sql.DEFER_ALERT_MAIL, (mail_id, until, detail)))

    async def unsettled_alert_mails(self, *, limit: int = 1000) -> list[AlertMail]:
        """Queued alerts not settled yet, claimed or not, oldest first (tests, operators)."""
        return await self._read(Fetch(sql.UNSETTLED_ALERT_MAILS, (limit,), rows.alert_mail))

    async def alert_mail_outcomes(self, system_id: str) -> list[tuple[str, str | None]]:
        """(key, outcome) of every alert the account fired, oldest first (None: unsettled)."""
        return await self._read(Fetch(sql.ALERT_MAIL_OUTCOMES, (system_id,), rows.pair))
