"""The ``Store`` protocol: everything the gateway and the CLI ask of the ledger.

Two implementations share one contract test suite: ``ledger.sqlite.SqliteStore`` (the
embedded default) and ``ledger.postgres.PostgresStore``. ``open_store(url)`` picks one.

Rules every implementation keeps:
- amounts are integer milli-credits; a balance never goes below zero;
- every change of balance is one journal row (kind, signed amount, balance_after,
  idempotency key, message id, time) in the same transaction as the change, so the
  cached balance always equals the journal sum;
- ``debit_batch`` decides each request on its own but commits the batch once (group
  commit); the message row (outbox) and any auto-recharge are in that transaction;
- a reused idempotency key with the same body returns the original result (DUPLICATE),
  with a different body IDEMPOTENCY_CONFLICT, and writes nothing;
- the clock is injected (``clock`` argument of the constructors) so tests control days.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from ledger.models import (
    Account,
    AccountStatus,
    AuditProblem,
    DebitRequest,
    DebitResult,
    EntryKind,
    JournalEntry,
    MessageRecord,
    MessageState,
    NewAccount,
    PendingReceipt,
    RechargePolicy,
    Sender,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


class Store(Protocol):
    """Persistent ledger. All methods are coroutines; none blocks the event loop."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def upgrade(self) -> list[str]:
        """Apply pending schema migrations; return the names of those applied now."""

    # -- accounts ---------------------------------------------------------------------
    async def create_account(self, new: NewAccount) -> Account:
        """Create an account with a zero balance. Raises AccountExists, InvalidAccountData."""

    async def get_account(self, system_id: str) -> Account:
        """The account, with IPs and senders. Raises UnknownAccount."""

    async def list_accounts(self) -> list[Account]:
        """Every account, ordered by system_id."""

    async def set_status(self, system_id: str, status: AccountStatus) -> Account:
        """Enable or disable binding."""

    async def set_password_hash(self, system_id: str, password_hash: str) -> None:
        """Replace the stored password hash."""

    async def allow_ip(self, system_id: str, cidr: str) -> Account:
        """Add a CIDR (normalised; a bare address means /32 or /128) to the allowlist."""

    async def deny_ip(self, system_id: str, cidr: str) -> Account:
        """Remove a CIDR from the allowlist (InvalidAccountData if absent)."""

    async def add_sender(self, system_id: str, sender: Sender) -> Account:
        """Register a source address."""

    async def remove_sender(self, system_id: str, sender: Sender) -> Account:
        """Unregister a source address (InvalidAccountData if absent)."""

    async def set_recharge(self, system_id: str, policy: RechargePolicy | None) -> Account:
        """Set or clear auto-recharge. The amount must be one of RECHARGE_AMOUNTS_CREDITS."""

    # -- money --------------------------------------------------------------------------
    async def credit(
        self,
        system_id: str,
        amount: int,
        *,
        idempotency_key: str,
        kind: EntryKind = EntryKind.CREDIT,
        note: str = "",
    ) -> JournalEntry:
        """Add ``amount`` (> 0) milli-credits. Replaying the key returns the first entry."""

    async def debit_batch(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit each request and store its message, in one transaction, one result each.

        Auto-recharge: when a debit leaves the balance at or below the threshold having
        been above it, one recharge is credited (journaled before the debit is checked
        when the balance alone would not cover it), within the daily cap.
        """

    async def refund(self, message_id: str, *, reason: str) -> JournalEntry:
        """Give back a message's cost once (idempotent per message) and mark it REJECTED."""

    async def journal(self, system_id: str, *, limit: int = 100) -> list[JournalEntry]:
        """The newest ``limit`` entries of an account, newest first."""

    async def audit(self) -> list[AuditProblem]:
        """Accounts whose balance differs from their journal sum or is negative."""

    # -- outbox and receipts ------------------------------------------------------------
    async def get_message(self, message_id: str) -> MessageRecord:
        """A message by our id. Raises UnknownMessage."""

    async def unforwarded(self, *, limit: int = 1000) -> list[MessageRecord]:
        """Messages in state ACCEPTED, oldest first (the forwarder's recovery queue)."""

    async def mark_forwarded(self, items: Sequence[tuple[str, str]]) -> None:
        """Record (message_id, upstream_id) pairs; state becomes FORWARDED."""

    async def message_by_upstream_id(self, upstream_id: str) -> MessageRecord | None:
        """The message the upstream knows by ``upstream_id``."""

    async def set_message_state(self, message_id: str, state: MessageState) -> None:
        """Record a final outcome (DELIVERED, FAILED)."""

    async def add_receipt(self, system_id: str, message_id: str, pdu_body: bytes) -> int:
        """Keep a receipt until the account's receiver acknowledges it; returns its id."""

    async def pending_receipts(self, system_id: str, *, limit: int = 1000) -> list[PendingReceipt]:
        """Receipts not yet acknowledged, oldest first."""

    async def receipt_delivered(self, receipt_id: int) -> None:
        """The receiver acknowledged the receipt (deliver_sm_resp ESME_ROK)."""


async def open_store(url: str, *, clock: Clock = utc_now) -> Store:
    """Open the store named by ``url``: ``sqlite:///path`` or ``postgresql://...``."""
    if url.startswith("sqlite:"):
        from ledger.sqlite import SqliteStore

        return await SqliteStore.open(url, clock=clock)
    if url.startswith(("postgresql:", "postgres:")):
        from ledger.postgres import PostgresStore

        return await PostgresStore.open(url, clock=clock)
    raise ValueError(f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql://...")
