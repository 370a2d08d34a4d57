"""History queries and retention: what a page asks for, its cursor, what a sweep deletes.

A page is an account's messages newest first, ordered by (created_at, message_id) —
messages of one debit batch share their transaction's time, so the id breaks the tie.
The next page continues strictly after the last item of this one (keyset pagination:
as fast on page 1000 as on page 1, and stable while new messages arrive); its cursor is
that item's (created_at, message_id), encoded as opaque text.

A destination prefix can match half an account's messages (33: France) or one in a
thousand (354: Iceland). The time index finds a common prefix's newest page at once and
a rare one only after scanning everything; the destination index is the other way
round (a common prefix: millions of rows to sort). So a filtered page first filters the
newest :data:`SCAN_WINDOW` messages of its time range, in time order; if that fills the
page, or the range holds no more, it is the answer, and otherwise the prefix is rare
(under 1 in ``SCAN_WINDOW / limit``), so the destination index has few rows to sort.
Either way a page costs at most a bounded scan plus a small sort, on both stores.

Retention deletes, per account, messages created before ``now - retention_days`` that
left the outbox (an ACCEPTED message is money taken for a message still to send and is
kept), with their receipts, a batch per transaction. The journal is never touched:
its rows name a message by id only (no foreign key), so the books stay whole.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.errors import InvalidRequest
from ledger.models import MessageState
from ledger.models.history import HistoryItem, HistoryPage

#: Most items one page may hold.
MAX_PAGE = 1000
#: Messages one retention transaction deletes at most (short transactions, bounded locks).
PRUNE_BATCH = 5000
#: How many of the newest messages a filtered page looks through in time order before
#: it asks the destination index instead (see the module docstring).
SCAN_WINDOW = 20_000


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What one history page asks for; see ``Store.history``."""

    system_id: str
    since: datetime | None = None
    until: datetime | None = None
    dest_prefix: str = ""
    state: MessageState | None = None
    limit: int = 50
    before: tuple[datetime, str] | None = None

    def destination_range(self) -> tuple[str, str] | None:
        """[low, high) of the destinations starting with ``dest_prefix``, or None."""
        p = self.dest_prefix
        if not p:
            return None
        return p, p[:-1] + chr(ord(p[-1]) + 1)

    @property
    def windowed(self) -> bool:
        """True when a page first looks through a window (a destination prefix is given)."""
        return bool(self.dest_prefix)

    def args(self, *, window: bool = False) -> tuple[object, ...]:
        """The page statement's parameters: see ``statements.history``."""
        # One more than the page: whether it comes back tells if another page follows.
        out: list[object] = [self.system_id, self.limit + 1]
        if self.since is not None:
            out.append(self.since)
        if self.until is not None:
            out.append(self.until)
        span = self.destination_range()
        if span is not None:
            out.extend(span)
        if self.state is not None:
            out.append(self.state.value)
        if self.before is not None:
            out.extend(self.before)
        if window:
            out.append(SCAN_WINDOW)
        return tuple(out)

    def window_args(self) -> tuple[object, ...]:
        """The parameters of ``statements.history_window_full``."""
        out: list[object] = [self.system_id, SCAN_WINDOW]
        if self.since is not None:
            out.append(self.since)
        if self.until is not None:
            out.append(self.until)
        if self.before is not None:
            out.extend(self.before)
        return tuple(out)


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise InvalidRequest(f"{name} is a datetime, not {moment!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def history_query(
    system_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    dest_prefix: str,
    state: MessageState | str | None,
    limit: int,
    before: str | None,
) -> HistoryQuery:
    """The query, checked: a limit of 1..MAX_PAGE, aware times, a known state, a cursor."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"a page holds 1 to {MAX_PAGE} messages, not {limit!r}")
    if dest_prefix and not (dest_prefix.isprintable() and len(dest_prefix) <= 21):
        raise InvalidRequest(f"not a destination prefix: {dest_prefix!r}")
    try:
        wanted = MessageState(state) if state is not None else None
    except ValueError:
        listed = ", ".join(s.value for s in MessageState)
        raise InvalidRequest(f"state {state!r} is not one of {listed}") from None
    return HistoryQuery(
        system_id=system_id,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        dest_prefix=dest_prefix,
        state=wanted,
        limit=limit,
        before=decode_cursor(before) if before is not None else None,
    )


def encode_cursor(item: HistoryItem) -> str:
    """The cursor of the page that follows ``item`` (opaque, URL-safe text)."""
    raw = f"{item.created_at.astimezone(UTC).isoformat()}|{item.message_id}"
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, message_id) of a cursor; InvalidRequest for one this never made."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        at, message_id = raw.split("|", 1)
        moment = datetime.fromisoformat(at)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidRequest(f"not a history cursor: {cursor!r}") from None
    if moment.tzinfo is None or not message_id:
        raise InvalidRequest(f"not a history cursor: {cursor!r}")
    return moment, message_id


def newest_first(item: HistoryItem) -> tuple[float, bytes]:
    """Sort key of the history order: newest first, then message_id descending (bytes)."""
    inverted = bytes(255 - b for b in item.message_id.encode("utf-8")) + b"\xff"
    return (-item.created_at.timestamp(), inverted)


def page_of(found: list[HistoryItem], limit: int) -> HistoryPage:
    """The page of ``found`` (up to ``limit + 1`` rows): ``limit`` items, and a cursor if
    there was one more."""
    items = tuple(found[:limit])
    return HistoryPage(items, encode_cursor(items[-1]) if len(found) > limit else None)


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Messages created before this are past retention (``retention_days`` >= 1)."""
    if not isinstance(retention_days, int) or isinstance(retention_days, bool):
        raise InvalidRequest(f"retention is a whole number of days, not {retention_days!r}")
    if retention_days < 1:
        raise InvalidRequest(f"retention is at least 1 day, not {retention_days}")
    return now - timedelta(days=retention_days)
