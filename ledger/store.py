"""The ``Store`` protocol: everything the gateway and the CLI ask of the ledger.

The contract is split by role (``AccountStore``, ``GatewayStore``, ``DebitStore``,
``MoneyStore``, ``OutboxStore``, ``ReceiptStore``, ``TokenStore``, ``HistoryStore``);
``Store`` is all of
them. It has one
implementation, ``ledger.core.Ledger``, over a backend per database
(``ledger.backends``: SQLite, the embedded default, and PostgreSQL); one contract test
suite runs on both. ``open_store(url)`` picks the backend.

Rules every implementation keeps:
- amounts are integer milli-credits; a balance never goes below zero; a credit, and a
  balance a credit or transfer makes, stay within the limits the store was opened with
  (``LedgerLimits``: ``max_credit``, ``max_balance``);
- every change of balance is one journal row (kind, signed amount, balance_after,
  counter-account, idempotency key, message id, time) in the same transaction as the
  change, so the cached balance always equals the journal sum; the counter-account (a
  house account, or the other customer of a transfer) takes the other side, so all
  balances, house accounts included, sum to zero;
- ``debit_batch`` decides each request on its own but commits the batch once (group
  commit); the message row (outbox) and any auto-recharge are in that transaction;
- a reused idempotency key with the same body returns the original result (DUPLICATE),
  with a different body IDEMPOTENCY_CONFLICT, and writes nothing;
- the clock is injected (``clock`` argument of the constructors) so tests control days,
  bucket refills, heartbeats and leases.

Several gateway processes may share one store (PostgreSQL, or one SQLite file):
- the bind quota is counted across them (``acquire_bind``; a gateway that stops
  heartbeating is taken for crashed and its binds stop counting);
- throughput is one token bucket per account on the account row, checked in
  ``debit_batch`` under the account's lock (``DebitStatus.THROTTLED``);
- a receipt is claimed by one gateway at a time (``add_receipts`` with ``claimed_by``,
  ``claim_receipts``), with a lease so that a crashed gateway's claims come back;
  ``listen_receipts`` (PostgreSQL) wakes the other gateways when an unclaimed receipt
  is stored. Notifications are a hint: a gateway still sweeps (``claim_receipts``) now
  and then, because notifications sent while its listener reconnects are lost;
- every outbox message has an owner, the gateway that accepted it
  (``OutboundMessage.owner``): a gateway forwards only its own messages and takes those
  of dead gateways with ``adopt_unforwarded`` (same staleness rule as the binds), so a
  restart never resends what a live gateway is forwarding.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from ledger.errors import InvalidRequest
from ledger.mo_store import MoStore
from ledger.models import (
    DEFAULT_UPSTREAM,
    Account,
    AccountChanges,
    AccountStatus,
    ApiToken,
    AuditProblem,
    Backlog,
    BindRecord,
    DebitRequest,
    DebitResult,
    EntryKind,
    JournalEntry,
    MessageRecord,
    MessageState,
    NewAccount,
    NewApiToken,
    NewReceipt,
    PendingReceipt,
    RechargePolicy,
    Sender,
    TransferResult,
)
from ledger.models.history import DailyUsage, HistoryPage, PruneResult
from ledger.models.notices import (
    AlertMail,
    AlertOutcome,
    BalanceAlert,
    CallbackOutcome,
    ReceiptCallback,
)
from ledger.models.packages import Package
from ledger.ops_store import MessageOpsStore
from ledger.rules.binds import BindOp, BindOutcome
from ledger.rules.limits import LedgerLimits
from ledger.rules.multi import RepriceResult

if TYPE_CHECKING:
    from ledger.backends.base import Backend

Clock = Callable[[], datetime]

#: PostgreSQL NOTIFY channel of unclaimed receipts; the payload is the system_id.
RECEIPTS_CHANNEL = "smppgw_receipts"
#: PostgreSQL NOTIFY channel of unclaimed messages from handsets (MO); payload: system_id.
MO_CHANNEL = "smppgw_mo"


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


class Lifecycle(Protocol):
    """Opening and closing: every store has these."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def upgrade(self) -> list[str]:
        """Apply pending schema migrations; return the names of those applied now."""


class AccountStore(Protocol):
    """Accounts: creation, lookup, and the settings an operator changes."""

    async def create_account(self, new: NewAccount) -> Account:
        """Create an account with a zero balance. Raises AccountExists, InvalidAccountData."""

    async def get_account(self, system_id: str) -> Account:
        """The account, with IPs and senders. Raises UnknownAccount."""

    async def list_accounts(self) -> list[Account]:
        """Every account, ordered by system_id."""

    async def set_status(self, system_id: str, status: AccountStatus) -> Account:
        """Enable or disable binding (and debits). Raises AccountClosed when closed."""

    async def update_account(self, system_id: str, changes: AccountChanges) -> Account:
        """Change the fields ``changes`` gives (owner, contact, default category,
        throughput, max binds) in one transaction.

        Raises UnknownAccount, InvalidAccountData.
        """

    async def close_account(self, system_id: str) -> Account:
        """Close an account for good (status CLOSED); closing it again changes nothing.

        Raises UnknownAccount; AccountNotEmpty while it holds credits or anything else
        of value (``ledger.rules.accounts``).
        """

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

    async def set_throughput(self, system_id: str, per_second: int) -> Account:
        """Set the messages-per-second limit (>= 0; 0 = unlimited); the bucket starts full.

        Raises UnknownAccount, InvalidAccountData.
        """

    async def set_max_binds(self, system_id: str, max_binds: int) -> Account:
        """Set how many sessions may be bound at once, over all gateways (>= 1).

        Binds already held are kept; the new limit applies to the next ``acquire_bind``.
        Raises UnknownAccount, InvalidAccountData.
        """


class GatewayStore(Protocol):
    """Gateway processes and the bind quota they share."""

    async def register_gateway(self, gateway_id: str, *, address: str) -> None:
        """Record a gateway process as alive (upsert; started_at = heartbeat_at = now)."""

    async def heartbeat(self, gateway_id: str) -> None:
        """The gateway is still alive (heartbeat_at = now). Unknown gateways: no-op.

        Call it well within ``stale_after`` (e.g. every stale_after / 3): a gateway whose
        heartbeat lapsed loses its binds to the next ``acquire_bind`` of their accounts.
        """

    async def unregister_gateway(self, gateway_id: str) -> None:
        """Clean shutdown: delete the gateway's binds and its row. Idempotent."""

    async def acquire_bind(
        self,
        system_id: str,
        *,
        gateway_id: str,
        session_id: str,
        kind: str,
        max_binds: int,
        stale_after: float = 30.0,
        peer: str = "",
    ) -> bool:
        """Take one of the account's ``max_binds`` bind slots for a session; False if full.

        One transaction, serialised per account: drops the account's binds held by
        gateways whose heartbeat is older than ``stale_after`` seconds (crashed) or that
        are not registered, counts the rest, and records (system_id, gateway_id,
        session_id, kind, peer, now) if fewer than ``max_binds``. ``peer`` is the
        client's address, for operators (``account_binds``). Acquiring again for the same
        (gateway_id, session_id) and account answers True and changes nothing.

        Raises UnknownAccount; GatewayNotRegistered if ``gateway_id`` is not registered
        (its bind would not count for anyone); BindHeldElsewhere if the session holds a
        bind of another account.
        """

    async def release_bind(self, gateway_id: str, session_id: str) -> None:
        """The session unbound or dropped: free its slot. Idempotent."""

    async def bind_batch(self, ops: Sequence[BindOp]) -> list[BindOutcome]:
        """Many ``acquire_bind`` (``BindClaim``) and ``release_bind`` (``BindRelease``) in
        ONE transaction, applied in order; one outcome per op: a claim's bool (a
        release's True), or the UnknownAccount / GatewayNotRegistered / BindHeldElsewhere
        that claim alone would have raised. Each claim is decided exactly as
        ``acquire_bind`` decides it, under the same per-account serialisation (every
        account's lock taken first, in sorted order). Raises LedgerUnavailable for the
        whole batch if it could not be committed.
        """

    async def bind_count(self, system_id: str, *, stale_after: float = 30.0) -> int:
        """Binds of the account held by live gateways (heartbeat within ``stale_after``)."""

    async def account_binds(self, system_id: str, *, stale_after: float = 30.0) -> list[BindRecord]:
        """The binds ``bind_count`` counts, oldest first (peer, gateway, kind, since)."""


class DebitStore(Protocol):
    """The debit path: all that ``DebitBatcher`` needs of a store."""

    async def debit_batch(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit each request and store its message, in one transaction, one result each.

        Auto-recharge: when a debit leaves the balance at or below the threshold having
        been above it, one recharge is credited (journaled before the debit is checked
        when the balance alone would not cover it), within the daily cap.
        """

    async def debit_all(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit every request or none (submit_multi): one transaction, one result each.

        Decided as ``debit_batch`` decides; unless every result is OK (or every one a
        replay, DUPLICATE), nothing at all is written.
        """

    async def reprice(
        self,
        message_id: str,
        *,
        new_cost: int,
        pdu_body: bytes,
        segments: int,
        registered_delivery: int,
        idempotency_key: str,
    ) -> RepriceResult:
        """replace_sm: refund an ACCEPTED message's cost, debit ``new_cost``, store its
        new body, in one transaction. Raises UnknownMessage, MessageNotAccepted,
        AccountNotActive, InsufficientCredit; a replayed key returns the first result."""


class MoneyStore(Protocol):
    """Money movements besides debits, the journal and the audit."""

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

    async def refund(
        self, message_id: str, *, reason: str, holder: str | None = None
    ) -> JournalEntry:
        """Give back a message's cost once (idempotent per message) and mark it REJECTED.

        ``holder``: only while that gateway holds it not yet forwarded (ACCEPTED, its
        owner), in the same transaction; else MessageNotAccepted, nothing written."""

    async def transfer(
        self, source: str, target: str, amount: int, *, idempotency_key: str, note: str = ""
    ) -> TransferResult:
        """Move ``amount`` (> 0) milli-credits between two active accounts of one owner.

        One transaction, both sides or neither: a pair of entries (TRANSFER_OUT,
        TRANSFER_IN) naming each other. Replaying the key with the same body returns
        the first result. Refused, nothing written: SameAccount, UnknownAccount,
        AccountNotActive, OwnersDiffer, InsufficientCredit, LimitExceeded (the target
        past ``max_balance``), IdempotencyConflict.
        """

    async def journal(
        self, system_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[JournalEntry]:
        """The newest ``limit`` entries of an account, newest first.

        ``before``: only entries whose id is below it (the next page after the last id
        seen); None: from the newest. Raises UnknownAccount.
        """

    async def house_balances(self) -> dict[str, int]:
        """The house accounts (``HouseAccount``) that have a row, and their balances.

        Each is minus the sum of the entries naming it; with the customers' balances
        they sum to zero.
        """

    async def audit(self) -> list[AuditProblem]:
        """Every failed proof of the books, on one snapshot; ``[]`` when they are straight.

        (a) each customer balance equals its entries and is >= 0, each house balance
        equals minus the entries naming it; (b) all balances sum to zero; (c) each pair of
        customer accounts nets to zero; (d) every entry names a real counter-account.
        """


class OutboxStore(Protocol):
    """Debited messages waiting for (or past) forwarding."""

    async def get_message(self, message_id: str) -> MessageRecord:
        """A message by our id. Raises UnknownMessage."""

    async def unforwarded(self, *, limit: int = 1000) -> list[MessageRecord]:
        """Messages in state ACCEPTED, oldest first, whoever owns them (read-only).

        For operators and tests: a gateway must not forward these blindly, since other
        live gateways may be forwarding some of them; it uses ``adopt_unforwarded``.
        """

    async def adopt_unforwarded(
        self, gateway_id: str, *, stale_after: float = 30.0, limit: int = 1000
    ) -> list[MessageRecord]:
        """Take the ACCEPTED messages ``gateway_id`` must forward; oldest first.

        One transaction. Takes (sets ``owner`` to ``gateway_id``) and returns, at most
        ``limit``, ordered by (created_at, message_id), the ACCEPTED messages owned by
        ``gateway_id`` itself (a restart with a stable id), by nobody (NULL), or by a
        gateway that is not live: not registered, or its heartbeat older than
        ``stale_after`` seconds (the rule of ``acquire_bind``). A message of a live
        other gateway is never returned, and two gateways adopting at once get disjoint
        sets. The caller's own heartbeat is refreshed in the same transaction: once its
        adoption is visible, it is visible as live, so nobody adopts the messages back.

        ``limit`` caps one answer; it is not a cursor: the caller's own messages come
        back on every call, so pass a limit above the backlog to get them all.

        Raises GatewayNotRegistered if ``gateway_id`` is not registered (what it adopted
        would look orphaned to every other gateway at once), InvalidRequest if it is
        empty or ``limit`` < 1.
        """

    async def backlog(self) -> Backlog:
        """Messages still ACCEPTED (count, oldest) and receipts not yet acknowledged,
        over every gateway sharing the ledger; one snapshot (metrics)."""

    async def mark_forwarded(
        self, items: Sequence[tuple[str, str]], *, upstream: str = DEFAULT_UPSTREAM
    ) -> None:
        """Record (message_id, upstream_id) pairs given by the upstream named
        ``upstream``; state becomes FORWARDED."""

    async def message_by_upstream_id(
        self, upstream_id: str, *, upstream: str | None = None, form: str = "auto"
    ) -> MessageRecord | None:
        """The message the upstream named ``upstream`` (None: any) knows by ``upstream_id``,
        spelled in its receipts as ``form`` says (``ledger.rules.receipts.upstream_keys``).

        Raises InvalidRequest for an unknown form.
        """

    async def set_message_state(self, message_id: str, state: MessageState) -> None:
        """Record a final outcome (DELIVERED, FAILED).

        Raises UnknownMessage; RefundRequired for REJECTED (``refund`` rejects).
        """


class ReceiptStore(Protocol):
    """Delivery receipts waiting for a receiver, claimed by one gateway at a time."""

    async def add_receipts(self, items: Sequence[NewReceipt], *, lease: float = 60.0) -> list[int]:
        """Keep receipts until a receiver acknowledges them; their ids, in order.

        One transaction. Each item's message gets ``item.state`` when given (the rules of
        ``set_message_state``). An item with ``claimed_by`` is claimed by that gateway
        for ``lease`` seconds; the others are unclaimed, and on PostgreSQL the
        transaction notifies ``RECEIPTS_CHANNEL`` once per system_id of them.

        Raises (writing nothing) UnknownAccount, UnknownMessage, RefundRequired (state
        REJECTED), ForeignMessage (a message of another account).
        """

    async def claim_receipts(
        self, system_id: str, *, gateway_id: str, limit: int = 100, lease: float = 60.0
    ) -> list[PendingReceipt]:
        """Claim up to ``limit`` undelivered receipts of the account for ``lease`` seconds.

        Takes those unclaimed or whose claim expired, oldest first; two gateways claiming
        at once never get the same receipt. The claim ends with ``receipts_delivered``,
        ``release_receipts`` or the lease.
        """

    async def receipts_delivered(self, receipt_ids: Sequence[int]) -> None:
        """The receiver acknowledged these receipts; they never come back.

        Idempotent; unknown ids are ignored.
        """

    async def release_receipts(self, receipt_ids: Sequence[int]) -> None:
        """Drop the claims (the push failed) so any gateway may claim them again.

        Sends no notification: the next claim (a sweep, a bind) picks them up, so a
        receiver that refuses a receipt is not retried in a tight loop.
        """

    async def pending_receipts(self, system_id: str, *, limit: int = 1000) -> list[PendingReceipt]:
        """Receipts not yet acknowledged, claimed or not, oldest first (tests, operators)."""

    async def listen_receipts(
        self, callback: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback(system_id)`` whenever another process stores unclaimed receipts.

        PostgreSQL: LISTEN on a dedicated connection, reconnected (with a short backoff)
        whenever it drops; notifications sent meanwhile are lost, so gateways must also
        sweep with ``claim_receipts``. Returns ``stop()``. Raises LedgerUnavailable if
        the first connection fails. SQLite: None (one process delivers directly).
        """


class TokenStore(Protocol):
    """Bearer tokens of the management API: their SHA-256 and scope, never the token."""

    async def create_api_token(self, new: NewApiToken) -> ApiToken:
        """Store a new token. Raises TokenExists, InvalidAccountData (an empty owner)."""

    async def api_token(self, token_hash: str) -> ApiToken | None:
        """The token with this SHA-256 (hex), revoked or not; None when there is none."""

    async def list_api_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, oldest first."""

    async def revoke_api_token(self, token_id: str) -> ApiToken:
        """Revoke a token for good; revoking again changes nothing. Raises UnknownToken."""


class HistoryStore(Protocol):
    """What an account's messages became, and how long they are kept."""

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
        """A page of the account's messages, newest first (keyset pagination).

        ``since`` inclusive, ``until`` exclusive; ``dest_prefix``: destinations starting
        with it; ``state``: the message's state; ``before``: the ``next_before`` of the
        previous page, with the same filters. Raises UnknownAccount, InvalidRequest (a
        limit outside 1..1000, an unknown state, a cursor this never made).
        """

    async def prune_history(self, retention_days: int, *, batch: int = 5000) -> PruneResult:
        """Delete messages older than ``retention_days`` days, and their receipts.

        ACCEPTED messages (not yet forwarded) and every journal row are kept.
        """

    async def daily_usage(self, system_id: str, *, days: int = 30) -> list[DailyUsage]:
        """Messages and their cost (refunded ones left out) per UTC day, the last
        ``days`` days, oldest first, every day present. Raises UnknownAccount."""


class AlertStore(Protocol):
    """Low-balance alerts: their settings, the scan that fires them, their mail outbox."""

    async def set_alert(
        self, system_id: str, threshold: int, *, category: str | None = None
    ) -> BalanceAlert:
        """Set (or replace) the account's alert on a balance (``category`` None: credits).

        It starts from now: armed if the balance is at or above ``threshold``. Raises
        UnknownAccount, InvalidAccountData, LimitExceeded (above ``max_balance``).
        """

    async def alerts(self, system_id: str) -> list[BalanceAlert]:
        """The account's alerts, the credit balance's first. Raises UnknownAccount."""

    async def clear_alert(self, system_id: str, *, category: str | None = None) -> bool:
        """Remove an alert; False if there was none. Raises UnknownAccount."""

    async def scan_alerts(self, *, page: int = 10_000) -> int:
        """Walk the journal entries new since the last scan of each credit-balance alert.

        One transaction: each downward crossing disarms its alert and is queued in the
        alert outbox, once whichever gateway scans; a step back at or above the
        threshold re-arms. Returns how many were queued. Only accounts with new entries
        are read.
        """

    async def claim_alert_mails(
        self, gateway_id: str, *, lease: float = 60.0, limit: int = 100
    ) -> list[AlertMail]:
        """Claim queued alerts for ``lease`` seconds (unclaimed, run out, or our own)."""

    async def settle_alert_mail(
        self, mail_id: int, outcome: AlertOutcome, detail: str = ""
    ) -> None:
        """The alert is done (sent, unsent on purpose, rejected for good)."""

    async def defer_alert_mail(self, mail_id: int, retry_after: float, detail: str) -> None:
        """A temporary failure: claimable again ``retry_after`` seconds from now."""

    async def unsettled_alert_mails(self, *, limit: int = 1000) -> list[AlertMail]:
        """Queued alerts not settled yet, oldest first (tests, operators)."""

    async def alert_mail_outcomes(self, system_id: str) -> list[tuple[str, str | None]]:
        """(key, outcome) of every alert the account fired, oldest first."""


class PackageStore(Protocol):
    """Credit packages: purchase, the records, the expiry sweep (``ledger.rules.packages``)."""

    async def buy_package(
        self,
        system_id: str,
        category: str,
        quantity: int,
        *,
        idempotency_key: str,
        name: str = "",
        validity_months: int = 12,
    ) -> Package:
        """Buy ``quantity`` messages of ``category``; replaying the key returns the first."""

    async def package(self, package_id: str) -> Package:
        """One package as of now; UnknownPackage for an unknown id."""

    async def packages(
        self, system_id: str, *, limit: int = 50, before: tuple[datetime, str] | None = None
    ) -> list[Package]:
        """An account's packages, newest purchase first (keyset paging by ``before``)."""

    async def package_totals(self, system_id: str) -> dict[str, int]:
        """Milli-messages left in valid packages, per category."""

    async def package_journal(self, package_id: str, *, limit: int = 100) -> list[JournalEntry]:
        """A package's entries (milli-messages), newest first."""

    async def expire_packages(self, *, limit: int = 200) -> list[tuple[str, str, int]]:
        """Write off the remainders of expired packages; (system_id, package_id, amount)."""


class CallbackStore(Protocol):
    """Receipt callbacks of messages sent over HTTP (``ledger.core.callbacks``)."""

    async def add_callbacks(self, system_id: str, url: str, message_ids: Sequence[str]) -> None:
        """Register ``url`` as each message's receipt callback (a message keeps its first)."""

    async def claim_callbacks(
        self, gateway_id: str, *, lease: float = 60.0, limit: int = 100
    ) -> list[ReceiptCallback]:
        """Claim due callbacks (message final) for ``lease`` s: unclaimed, run out, or ours."""

    async def settle_callback(
        self, callback_id: int, outcome: CallbackOutcome, detail: str = ""
    ) -> None:
        """The callback is done: POSTed, or given up."""

    async def defer_callback(self, callback_id: int, retry_after: float, detail: str) -> None:
        """An attempt failed: claimable again ``retry_after`` seconds from now."""

    async def callbacks(self, system_id: str, *, limit: int = 1000) -> list[ReceiptCallback]:
        """The account's callbacks, settled or not, oldest first."""


class Store(
    Lifecycle,
    AccountStore,
    GatewayStore,
    DebitStore,
    MoneyStore,
    OutboxStore,
    ReceiptStore,
    TokenStore,
    HistoryStore,
    AlertStore,
    PackageStore,
    MoStore,
    CallbackStore,
    MessageOpsStore,
    Protocol,
):
    """Persistent ledger: every role. All methods are coroutines; none blocks the loop.

    A caller (or a fake in a test) that needs one role types against that role's
    protocol, so it implements only what it uses.
    """


async def open_store(
    url: str, *, clock: Clock = utc_now, limits: LedgerLimits | None = None
) -> Store:
    """Open the store named by ``url``: ``sqlite:///path`` or ``postgresql://...``.

    ``limits``: the amount limits it enforces (default ``LedgerLimits()``).

    Raises InvalidRequest for another URL, LedgerUnavailable when it cannot be opened.
    """
    from ledger.core import Ledger

    backend: Backend
    if url.startswith("sqlite:"):
        from ledger.backends.sqlite import SqliteBackend

        backend = await SqliteBackend.open(url)
    elif url.startswith(("postgresql:", "postgres:")):
        from ledger.backends.postgres import PostgresBackend

        backend = await PostgresBackend.open(url)
    else:
        raise InvalidRequest(
            f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql://..."
        )
    return Ledger(backend, clock=clock, limits=limits)
