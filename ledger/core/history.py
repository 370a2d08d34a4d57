"""Message history and its retention, over a backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import partial

from ledger.backends import package_sql as psql
from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Access, Execute, ExecuteMany, Fetch, Script, do
from ledger.core.base import CoreBase
from ledger.errors import UnknownAccount
from ledger.models import MessageState
from ledger.models.history import DailyUsage, DrawnFrom, HistoryItem, HistoryPage, PruneResult
from ledger.rules.history import (
    PRUNE_BATCH,
    SCAN_WINDOW,
    HistoryQuery,
    history_query,
    newest_first,
    page_of,
    retention_cutoff,
)
from ledger.rules.usage import day_start, every_day, missing_days, settled_from, usage_start


def _history(query: HistoryQuery) -> Script[list[HistoryItem]]:
    items = yield from _items(query)
    if not items:
        return items
    # What paid for each: the draws of those that touched a package (the others were
    # paid by the credit balance alone, as their rows already say).
    found = yield from do(Fetch(psql.DRAWS, ([i.message_id for i in items],), rows.draw))
    if not found:
        return items
    draws: dict[str, list[DrawnFrom]] = {}
    for mid, d in found:
        draws.setdefault(mid, []).append(DrawnFrom(d.source, d.amount))
    return [
        replace(i, drawn_from=tuple(draws[i.message_id])) if i.message_id in draws else i
        for i in items
    ]


def _items(query: HistoryQuery) -> Script[list[HistoryItem]]:
    if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (query.system_id,), rows.first))):
        raise UnknownAccount(query.system_id)
    since, until, before = (
        query.since is not None,
        query.until is not None,
        query.before is not None,
    )
    shape = {
        "since": since,
        "until": until,
        "destination": bool(query.dest_prefix),
        "state": query.state is not None,
        "before": before,
    }
    if query.windowed:
        # The newest messages of the range first (see ledger.rules.history).
        found = yield from do(
            Fetch(sql.history(**shape, window=True), query.args(window=True), rows.history_item)
        )
        found.sort(key=newest_first)
        if len(found) > query.limit:
            return found
        full = sql.history_window_full(since=since, until=until, before=before)
        [seen] = yield from do(Fetch(full, query.window_args(), rows.first))
        if seen < SCAN_WINDOW:  # the window held the whole range: the answer is complete
            return found
    return (yield from do(Fetch(sql.history(**shape), query.args(), rows.history_item)))


def _usage(
    system_id: str, first: date, settled: date, end: date
) -> Script[tuple[list[DailyUsage], list[DailyUsage]]]:
    """The days in [first, end): those found (kept or counted), and the settled days
    counted now, to keep (see ``ledger.rules.usage``)."""
    if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    kept = yield from do(
        Fetch(sql.USAGE_DAYS, (system_id, first, min(settled, end)), rows.daily_usage)
    )
    missing = missing_days((u.day for u in kept), first, min(settled, end))
    to_keep: list[DailyUsage] = []
    if missing:
        # One range from the oldest day missing (usually the one day just settled).
        span = (system_id, day_start(missing[0]), day_start(min(settled, end)))
        counted = {
            u.day: u for u in (yield from do(Fetch(sql.DAILY_USAGE, span, rows.daily_usage)))
        }
        # A settled day without messages is kept too, as zero: it is never counted again.
        to_keep = [counted.get(d, DailyUsage(d, 0, 0)) for d in missing]
    live_from = max(first, settled)
    live: list[DailyUsage] = []
    if live_from < end:
        span = (system_id, day_start(live_from), day_start(end))
        live = yield from do(Fetch(sql.DAILY_USAGE, span, rows.daily_usage))
    return [*kept, *to_keep, *live], to_keep


def _prune(system_id: str, cutoff: datetime, batch: int) -> Script[tuple[int, int]]:
    picked = yield from do(Fetch(sql.PRUNE_PICK, (system_id, cutoff, batch), rows.first))
    if not picked:
        return 0, 0
    receipts = 0
    for dependent in sql.PRUNE_DEPENDENTS:
        receipts += yield from do(Execute(dependent, (picked,)))
    yield from do(Execute(sql.PRUNE_MESSAGES, (picked,)))
    return len(picked), receipts


class HistoryCore(CoreBase):
    """``HistoryStore`` over a backend."""

    async def history(
        self,
        system_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        dest_prefix: str = "",
        state: MessageState | str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> HistoryPage:
        """A page of the account's messages, newest first (see ``Store.history``)."""
        query = history_query(
            system_id,
            since=since,
            until=until,
            dest_prefix=dest_prefix,
            state=state,
            limit=limit,
            before=before,
        )
        found = await self._run(partial(_history, query), Access.READ)
        return page_of(found, query.limit)

    async def prune_history(self, retention_days: int, *, batch: int = PRUNE_BATCH) -> PruneResult:
        """Delete messages (and their receipts) older than ``retention_days``.

        Per account, ``batch`` messages per transaction, until none is left; ACCEPTED
        messages and every journal row stay. Returns what was deleted.
        """
        cutoff = retention_cutoff(self._now(), retention_days)
        messages = receipts = 0
        for system_id in await self._read(Fetch(sql.ACCOUNT_IDS, (), rows.first)):
            while True:
                script = partial(_prune, system_id, cutoff, batch)
                m, r = await self._run(script, Access.TRANSACTION)
                messages, receipts = messages + m, receipts + r
                if m < batch:
                    break
        return PruneResult(cutoff, messages, receipts)

    async def daily_usage(self, system_id: str, *, days: int = 30) -> list[DailyUsage]:
        """The account's messages and their cost per UTC day, the last ``days`` days
        (today included), oldest first, a row for every day. Raises UnknownAccount,
        InvalidRequest (``days`` outside 1..366)."""
        now = self._now()
        start = usage_start(now, days)
        end = start.date() + timedelta(days=days)
        found, to_keep = await self._run(
            partial(_usage, system_id, start.date(), settled_from(now), end), Access.READ
        )
        if to_keep:
            # Kept in a short statement of its own: counting ran as a read, so a slow
            # first count never holds SQLite's write lock against debits.
            rows_ = [(system_id, u.day, u.messages, u.cost) for u in to_keep]
            await self._statement(ExecuteMany(sql.SAVE_USAGE_DAY, rows_))
        return every_day(found, start, days)
