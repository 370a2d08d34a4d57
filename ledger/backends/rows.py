"""Rows to records and records to rows, in one place for both dialects.

Every mapper takes a row (``sqlite3.Row`` or ``asyncpg.Record``, indexed by column name)
and the backend's :class:`~ledger.backends.base.Decoder` for the values the dialects store
differently (SQLite keeps times and days as text). The column lists below are the ones
the statements select, so a mapper and its SELECT cannot drift apart. The ``*_row``
functions go the other way: the values a plan writes, in the column order of
``STATE_WRITE``, ``ENTRY_WRITE`` and ``MESSAGE_WRITE`` (each backend appends the
transaction's time).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ledger.backends.base import Decoder, Row
from ledger.models import (
    Account,
    AccountStatus,
    ApiToken,
    AuditCheck,
    Backlog,
    BindRecord,
    Category,
    EntryKind,
    JournalEntry,
    MessageRecord,
    MessageState,
    PendingReceipt,
    RechargePolicy,
    Sender,
)
from ledger.models.history import CREDITS_SOURCE, DailyUsage, DrawnFrom, HistoryItem
from ledger.models.mo import MoRoute, PendingMo
from ledger.models.notices import (
    AlertMail,
    BalanceAlert,
    CallbackOutcome,
    NoticeKind,
    ReceiptCallback,
)
from ledger.rules.alerts import JournalStep
from ledger.rules.audit import AuditRow
from ledger.rules.binds import BindState
from ledger.rules.packages import Draw, PackageState
from ledger.rules.planning import (
    AccountState,
    PlannedEntry,
    PlannedMessage,
    StoredEntry,
    StoredMessage,
)
from ledger.rules.receipts import ReceiptTarget

JOURNAL_COLS = (
    "id, system_id, counter_account, kind, amount, balance_after, idempotency_key,"
    " body_hash, message_id, created_at, note"
)
MESSAGE_COLS = (
    "message_id, system_id, source_addr, destination_addr, segments, cost,"
    " registered_delivery, pdu_body, state, upstream_id, created_at, updated_at, owner,"
    " upstream"
)
RECEIPT_COLS = "id, system_id, message_id, pdu_body, created_at, claimed_by, claimed_until"
MO_COLS = (
    "id, system_id, upstream, source_addr, destination_addr, pdu_body, created_at,"
    " claimed_by, claimed_until"
)
TOKEN_COLS = "token_id, token_hash, owner, note, created_at, revoked_at"  # noqa: S105 — column names
ALERT_COLS = "system_id, category, threshold, armed, checked_through, updated_at"
ALERT_STEP_COLS = "id, kind, idempotency_key, balance_after"
ALERT_MAIL_COLS = (
    "o.id, o.mail_key, o.system_id, o.category, o.threshold, o.balance, o.entry_id,"
    " o.created_at, o.attempts, a.contact_email, o.kind, o.amount, o.recharges_today,"
    " o.daily_cap"
)
CALLBACK_COLS = (
    "c.id, c.message_id, c.system_id, c.url, c.created_at, c.attempts, c.outcome, c.detail,"
    " m.state, m.destination_addr, m.source_addr, m.upstream_id,"
    " (SELECT r.created_at FROM receipts r WHERE r.message_id = m.message_id"
    "  ORDER BY r.id DESC LIMIT 1) AS receipt_at"
)
#: A closed account is stored as 'disabled' with its closed_at (migration 0005).
STATUS_EXPR = "CASE WHEN closed_at IS NULL THEN status ELSE 'closed' END"
#: What a movement reads of an account (``AccountState``).
STATE_COLS = (
    f"system_id, {STATUS_EXPR} AS status, balance, recharge_threshold, recharge_amount,"
    " recharge_daily_cap, recharge_day, recharges_today, throughput, tb_tokens,"
    " tb_updated_at, owner, default_category,"
    " EXISTS (SELECT 1 FROM packages p WHERE p.system_id = accounts.system_id) AS has_packages"
)
#: A package as movements read it (``PackageState``).
PACKAGE_STATE_COLS = "package_id, system_id, category, total, remaining, purchased_at, expires_at"
#: A package as it is shown (``Package`` before its status).
PACKAGE_COLS = PACKAGE_STATE_COLS + ", name"
#: A package journal row, in the shape of ``JOURNAL_COLS`` plus its package.
PACKAGE_JOURNAL_COLS = (
    "id, system_id, counter_account, kind, amount, remaining_after AS balance_after,"
    " idempotency_key, body_hash, message_id, created_at, note, package_id"
)
BIND_COLS = "system_id, gateway_id, session_id, kind, peer, bound_at"
#: A message as history shows it, with its newest receipt's times (``HISTORY``).
HISTORY_COLS = (
    "m.message_id, m.created_at, m.destination_addr, m.source_addr, m.segments, m.cost,"
    " m.state, m.upstream_id,"
    " (SELECT r.created_at FROM receipts r WHERE r.message_id = m.message_id"
    "  ORDER BY r.id DESC LIMIT 1) AS receipt_at,"
    " (SELECT r.delivered_at FROM receipts r WHERE r.message_id = m.message_id"
    "  ORDER BY r.id DESC LIMIT 1) AS receipt_delivered_at"
)


#: Columns of ``state_row``, ``entry_row`` and ``message_row``, in order.
STATE_WRITE = "system_id, balance, recharge_day, recharges_today, tb_tokens, tb_updated_at"
ENTRY_WRITE = (
    "system_id, counter_account, kind, amount, balance_after, idempotency_key, body_hash,"
    " message_id, note"
)
MESSAGE_WRITE = (
    "message_id, system_id, idempotency_key, source_addr, destination_addr, segments, cost,"
    " registered_delivery, pdu_body, owner"
)


def prefixed(cols: str, alias: str) -> str:
    """``cols`` qualified by a table alias: "a, b" -> "m.a, m.b"."""
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))


def first(row: Row, _d: Decoder) -> Any:
    """The first column."""
    return row[0]


def pair(row: Row, _d: Decoder) -> tuple[Any, Any]:
    """The first two columns."""
    return row[0], row[1]


def entry(row: Row, d: Decoder) -> JournalEntry:
    """A journal row (JOURNAL_COLS)."""
    return JournalEntry(
        id=row["id"],
        system_id=row["system_id"],
        counter_account=row["counter_account"],
        kind=EntryKind(row["kind"]),
        amount=row["amount"],
        balance_after=row["balance_after"],
        idempotency_key=row["idempotency_key"],
        message_id=row["message_id"],
        created_at=d.time(row["created_at"]),
        note=row["note"],
    )


def entry_or_none(row: Row, d: Decoder) -> JournalEntry | None:
    """A journal row, or None where an outer join found none (``id`` is NULL)."""
    return None if row["id"] is None else entry(row, d)


def stored_entry(row: Row, d: Decoder) -> StoredEntry:
    """A journal row with the fingerprint of its body (JOURNAL_COLS)."""
    return StoredEntry(entry(row, d), row["body_hash"])


def stored_message(row: Row, _d: Decoder) -> StoredMessage:
    """The part of a message row movements read: message_id, system_id, cost."""
    return StoredMessage(row["message_id"], row["system_id"], row["cost"])


def message(row: Row, d: Decoder) -> MessageRecord:
    """A message row (MESSAGE_COLS)."""
    return MessageRecord(
        message_id=row["message_id"],
        system_id=row["system_id"],
        source_addr=row["source_addr"],
        destination_addr=row["destination_addr"],
        segments=row["segments"],
        cost=row["cost"],
        registered_delivery=row["registered_delivery"],
        pdu_body=bytes(row["pdu_body"]),
        state=MessageState(row["state"]),
        upstream_id=row["upstream_id"],
        created_at=d.time(row["created_at"]),
        updated_at=d.time(row["updated_at"]),
        owner=row["owner"],
        upstream=row["upstream"],
    )


def receipt(row: Row, d: Decoder) -> PendingReceipt:
    """A receipt row (RECEIPT_COLS)."""
    until = row["claimed_until"]
    return PendingReceipt(
        id=row["id"],
        system_id=row["system_id"],
        message_id=row["message_id"],
        pdu_body=bytes(row["pdu_body"]),
        created_at=d.time(row["created_at"]),
        claimed_by=row["claimed_by"],
        claimed_until=d.time(until) if until is not None else None,
    )


def policy(row: Row) -> RechargePolicy | None:
    """The auto-recharge policy of an account row (off while the cap is NULL)."""
    if row["recharge_daily_cap"] is None:
        return None
    return RechargePolicy(
        threshold=row["recharge_threshold"],
        amount=row["recharge_amount"],
        daily_cap=row["recharge_daily_cap"],
    )


def account_state(row: Row, d: Decoder) -> AccountState:
    """What a movement reads of an account (STATE_COLS)."""
    day, bucket_at = row["recharge_day"], row["tb_updated_at"]
    return AccountState(
        system_id=row["system_id"],
        status=AccountStatus(row["status"]),
        balance=row["balance"],
        policy=policy(row),
        recharge_day=d.day(day) if day is not None else None,
        recharges_today=row["recharges_today"],
        throughput=row["throughput"],
        tb_tokens=row["tb_tokens"],
        tb_updated_at=d.time(bucket_at) if bucket_at is not None else None,
        owner=row["owner"],
        default_category=row["default_category"],
        has_packages=bool(row["has_packages"]),
    )


def package_state(row: Row, d: Decoder) -> PackageState:
    """What a movement reads of a package (PACKAGE_STATE_COLS)."""
    return PackageState(
        package_id=row["package_id"],
        system_id=row["system_id"],
        category=row["category"],
        total=row["total"],
        remaining=row["remaining"],
        purchased_at=d.time(row["purchased_at"]),
        expires_at=d.time(row["expires_at"]),
    )


def package_row(row: Row, d: Decoder) -> tuple[PackageState, str]:
    """A package and its name (PACKAGE_COLS); the core adds its status."""
    return package_state(row, d), row["name"]


def package_entry(row: Row, d: Decoder) -> JournalEntry:
    """A package journal row (PACKAGE_JOURNAL_COLS)."""
    return replace(entry(row, d), package_id=row["package_id"])


def stored_package_entry(row: Row, d: Decoder) -> StoredEntry:
    """A package journal row with its body's fingerprint."""
    return StoredEntry(package_entry(row, d), row["body_hash"])


def draw(row: Row, _d: Decoder) -> tuple[str, Draw]:
    """A message's draw: (message_id, draw), in ``seq`` order."""
    return row["message_id"], Draw(row["source"], row["amount"], row["segments"])


def account(row: Row, d: Decoder) -> Account:
    """An account row with ``ips`` and ``senders`` as JSON arrays (``ACCOUNTS``)."""
    senders = json.loads(row["senders"])
    closed_at = row["closed_at"]
    return Account(
        system_id=row["system_id"],
        owner=row["owner"],
        contact_email=row["contact_email"],
        status=AccountStatus.CLOSED if closed_at is not None else AccountStatus(row["status"]),
        balance=row["balance"],
        password_hash=row["password_hash"],
        allowed_ips=tuple(json.loads(row["ips"])),
        senders=tuple(Sender(t, n, a) for t, n, a in senders),
        recharge=policy(row),
        max_binds=row["max_binds"],
        throughput=row["throughput"],
        created_at=d.time(row["created_at"]),
        default_category=Category(row["default_category"]),
        closed_at=d.time(closed_at) if closed_at is not None else None,
        default_country=row["default_country"],
        client_cert_sha256=row["client_cert_sha256"],
        submit_window=row["submit_window"],
        max_session_age_s=row["max_session_age_s"],
    )


def bind_record(row: Row, d: Decoder) -> BindRecord:
    """A bind row (BIND_COLS)."""
    return BindRecord(
        system_id=row["system_id"],
        gateway_id=row["gateway_id"],
        session_id=row["session_id"],
        kind=row["kind"],
        peer=row["peer"],
        bound_at=d.time(row["bound_at"]),
    )


def history_item(row: Row, d: Decoder) -> HistoryItem:
    """A message as history shows it (HISTORY_COLS).

    Today every message is paid from the balance; a message paid (partly) from
    packages will list each source here.
    """
    receipt_at, delivered_at = row["receipt_at"], row["receipt_delivered_at"]
    return HistoryItem(
        message_id=row["message_id"],
        created_at=d.time(row["created_at"]),
        destination_addr=row["destination_addr"],
        source_addr=row["source_addr"],
        segments=row["segments"],
        cost=row["cost"],
        state=MessageState(row["state"]),
        upstream_id=row["upstream_id"],
        receipt_at=d.time(receipt_at) if receipt_at is not None else None,
        receipt_delivered_at=d.time(delivered_at) if delivered_at is not None else None,
        drawn_from=(DrawnFrom(CREDITS_SOURCE, row["cost"]),),
    )


def api_token(row: Row, d: Decoder) -> ApiToken:
    """An API token row (TOKEN_COLS)."""
    revoked = row["revoked_at"]
    return ApiToken(
        token_id=row["token_id"],
        token_hash=row["token_hash"],
        owner=row["owner"],
        note=row["note"],
        created_at=d.time(row["created_at"]),
        revoked_at=d.time(revoked) if revoked is not None else None,
    )


def backlog(row: Row, d: Decoder) -> Backlog:
    """The BACKLOG statement's one row."""
    oldest = row["oldest"]
    return Backlog(
        unforwarded=int(row["unforwarded"]),
        oldest_unforwarded_at=d.time(oldest) if oldest is not None else None,
        receipts_pending=int(row["receipts"]),
        mail_outbox=int(row["mails"]),
        callbacks_pending=int(row["callbacks"]),
    )


def bind_state(row: Row, _d: Decoder) -> BindState:
    """``acquire_bind``'s view: account, gateway, and the session's current bind."""
    return BindState(bool(row["account"]), bool(row["gateway"]), row["held"])


def receipt_target(row: Row, _d: Decoder) -> ReceiptTarget:
    """One receipt item's account and message, as the database holds them."""
    return ReceiptTarget(bool(row["account"]), row["owner"])


def audit_row(row: Row, _d: Decoder) -> AuditRow:
    """One row of the audit statement."""
    return AuditRow(
        AuditCheck(row["kind"]), row["name"], row["counter"], row["balance"], row["total"]
    )


def state_row(a: AccountState) -> tuple[Any, ...]:
    """What a movement writes back to an account row (STATE_WRITE)."""
    return (a.system_id, a.balance, a.recharge_day, a.recharges_today, a.tb_tokens, a.tb_updated_at)


def entry_row(e: PlannedEntry) -> tuple[Any, ...]:
    """A journal row to insert (ENTRY_WRITE), without its time."""
    return (
        e.system_id,
        e.counter_account,
        e.kind.value,
        e.amount,
        e.balance_after,
        e.idempotency_key,
        e.fingerprint,
        e.message_id,
        e.note,
    )


def message_row(p: PlannedMessage) -> tuple[Any, ...]:
    """A message row to insert (MESSAGE_WRITE), without its times; state ACCEPTED."""
    m = p.message
    return (
        m.message_id,
        m.system_id,
        p.idempotency_key,
        m.source_addr,
        m.destination_addr,
        m.segments,
        m.cost,
        m.registered_delivery,
        m.pdu_body,
        m.owner or None,  # "" = nobody: NULL, adoptable by all
    )


def balance_alert(row: Row, d: Decoder) -> BalanceAlert:
    """A balance_alerts row (ALERT_COLS); SQLite's armed is 0 or 1."""
    return BalanceAlert(
        system_id=row["system_id"],
        category=row["category"],
        threshold=row["threshold"],
        armed=bool(row["armed"]),
        checked_through=row["checked_through"],
        updated_at=d.time(row["updated_at"]),
    )


def alert_step(row: Row, _d: Decoder) -> JournalStep:
    """What the alert scan reads of a journal row (ALERT_STEP_COLS)."""
    return JournalStep(
        row["id"], EntryKind(row["kind"]), row["idempotency_key"], row["balance_after"]
    )


def alert_mail(row: Row, d: Decoder) -> AlertMail:
    """An alert_outbox row with the account's contact (ALERT_MAIL_COLS)."""
    return AlertMail(
        id=row["id"],
        key=row["mail_key"],
        system_id=row["system_id"],
        category=row["category"],
        threshold=row["threshold"],
        balance=row["balance"],
        entry_id=row["entry_id"],
        created_at=d.time(row["created_at"]),
        contact_email=row["contact_email"],
        attempts=row["attempts"],
        kind=NoticeKind(row["kind"]),
        amount=row["amount"],
        recharges_today=row["recharges_today"],
        daily_cap=row["daily_cap"],
    )


def receipt_callback(row: Row, d: Decoder) -> ReceiptCallback:
    """A receipt_callbacks row with its message's facts (CALLBACK_COLS)."""
    outcome = row["outcome"]
    receipt_at = row["receipt_at"]
    return ReceiptCallback(
        id=row["id"],
        message_id=row["message_id"],
        system_id=row["system_id"],
        url=row["url"],
        created_at=d.time(row["created_at"]),
        attempts=row["attempts"],
        state=MessageState(row["state"]),
        destination_addr=row["destination_addr"],
        source_addr=row["source_addr"],
        upstream_id=row["upstream_id"],
        receipt_at=d.time(receipt_at) if receipt_at is not None else None,
        outcome=CallbackOutcome(outcome) if outcome is not None else None,
        detail=row["detail"],
    )


def daily_usage(row: Row, d: Decoder) -> DailyUsage:
    """A DAILY_USAGE row (its UTC day, its messages, their cost)."""
    return DailyUsage(
        day=d.day(row["day"]),
        messages=row["messages"],
        cost=row["cost"],
    )


def mo(row: Row, d: Decoder) -> PendingMo:
    """An MO row (MO_COLS)."""
    until = row["claimed_until"]
    return PendingMo(
        id=row["id"],
        system_id=row["system_id"],
        upstream=row["upstream"],
        source_addr=row["source_addr"],
        destination_addr=row["destination_addr"],
        pdu_body=bytes(row["pdu_body"]),
        created_at=d.time(row["created_at"]),
        claimed_by=row["claimed_by"],
        claimed_until=d.time(until) if until is not None else None,
    )


def mo_route(row: Row, _d: Decoder) -> MoRoute:
    """An MO route row (kind, value, system_id)."""
    return MoRoute(kind=row["kind"], value=row["value"], system_id=row["system_id"])
