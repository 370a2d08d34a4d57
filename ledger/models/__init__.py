"""Ledger records: accounts, journal entries, messages (the outbox) and receipts.

The records of one feature each live beside this module: ``ledger.models.packages``
(credit packages), ``ledger.models.mo`` (messages from handsets),
``ledger.models.notices`` (mails and callbacks queued after a commit) and
``ledger.models.history`` (the SMS history as read back).

Money is an integer number of milli-credits everywhere (``ledger.money``: 1 credit =
1000). Records are frozen: a change of balance is a new journal entry, never an edit.
Every entry has two sides: the customer account whose balance it changes and the
counter-account that takes the other side (a :class:`HouseAccount`, or another customer
account for a transfer), so all balances together always sum to zero.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Money lives in ledger.money; these names stay importable from here, where callers
# have always found them.
from ledger.money import MILLI as MILLI
from ledger.money import credits_to_milli as credits_to_milli
from ledger.money import milli_to_credits as milli_to_credits

#: Auto-recharge amounts an account may choose, in credits (as the operator's API allows).
RECHARGE_AMOUNTS_CREDITS = (100, 200, 250, 500, 1000, 5000, 10000)
SYSTEM_ID_RE = re.compile(r"^smpp-[a-z0-9][a-z0-9._-]{0,9}$")
MAX_PASSWORD_LEN = 8


class AccountStatus(StrEnum):
    """Whether an account may bind, submit and move money.

    Only ACTIVE may. DISABLED can be enabled again; CLOSED is final (``close_account``:
    only an empty account closes), and the rows stay for the books.
    """

    ACTIVE = "active"
    DISABLED = "disabled"
    CLOSED = "closed"


class Category(StrEnum):
    """What a message is for: an account's default, or mapped from its service_type."""

    VERIFICATION = "verification"  # codes and notifications
    MARKETING = "marketing"
    GENERAL = "general"


class EntryKind(StrEnum):
    """What a journal entry records. Room is left for the roadmap's kinds."""

    CREDIT = "credit"  # manual top-up by an operator
    DEBIT = "debit"  # a submitted message
    REFUND = "refund"  # a debited message that was never delivered upstream
    RECHARGE = "recharge"  # automatic recharge
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    PACKAGE = "package"
    WRITE_OFF = "write_off"
    MO = "mo"  # a message from a handset delivered to the account, at [delivery] weight


#: Every house account's name starts with this; a system_id never does.
HOUSE_PREFIX = "house:"


class HouseAccount(StrEnum):
    """The business's own accounts, the other side of every movement with the outside.

    Their names can never be a system_id (which starts with ``smpp-``). A house balance
    is the negated sum of the customer entries that name it: ``house:sales`` grows with
    every debit, ``house:topups`` goes down by every manual credit, and so on, so that
    customer and house balances together sum to zero.
    """

    SALES = "house:sales"  # debits: messages sold
    TOPUPS = "house:topups"  # manual credits: money from outside the books
    RECHARGES = "house:recharges"  # automatic recharges
    REFUNDS = "house:refunds"  # money given back for messages never delivered upstream
    WRITE_OFFS = "house:write-offs"
    #: Credit packages, in milli-messages (a unit of their own): purchases come from
    #: here, draws go to package-sales, refunds come from package-refunds, expired
    #: remainders go to package-write-offs.
    PACKAGES = "house:packages"
    PACKAGE_SALES = "house:package-sales"
    PACKAGE_REFUNDS = "house:package-refunds"
    PACKAGE_WRITE_OFFS = "house:package-write-offs"


#: The name of the upstream of a configuration with one ``[upstream]`` table, and of the
#: messages forwarded before upstreams had names (migration 0012).
DEFAULT_UPSTREAM = "default"


class MessageState(StrEnum):
    """Lifecycle of a message row (the outbox)."""

    ACCEPTED = "accepted"  # debited, acknowledged to the client, not yet forwarded
    FORWARDED = "forwarded"  # the upstream accepted it and gave its own id
    DELIVERED = "delivered"  # final receipt DELIVRD
    FAILED = "failed"  # final receipt other than DELIVRD
    REJECTED = "rejected"  # upstream refused it permanently; refunded


@dataclass(frozen=True, slots=True)
class Sender:
    """A source address an account may send from."""

    ton: int
    npi: int
    address: str


@dataclass(frozen=True, slots=True)
class RechargePolicy:
    """Auto-recharge: when a debit leaves the balance at or below ``threshold``,
    credit ``amount`` in the same transaction, at most ``daily_cap`` times per UTC day."""

    threshold: int  # milli-credits
    amount: int  # milli-credits; one of RECHARGE_AMOUNTS_CREDITS x 1000
    daily_cap: int


# Parsed once: every bind, and the account watch once a second for every bound session,
# asks ``allows_address``; parsing the address and each CIDR again each time was ~3% of
# the gateway's samples in a 5,000-session re-bind storm (py-spy).
@functools.lru_cache(maxsize=65_536)
def _client_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``ip`` as the socket reports it, IPv4-mapped IPv6 as IPv4; None if unreadable."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@functools.lru_cache(maxsize=65_536)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr)


@dataclass(frozen=True, slots=True)
class Account:
    """An SMPP account and everything a bind or a submit needs to know about it."""

    system_id: str
    owner: str
    contact_email: str
    status: AccountStatus
    balance: int  # milli-credits, equal to the sum of the account's journal
    password_hash: str
    allowed_ips: tuple[str, ...]  # normalised CIDRs
    senders: tuple[Sender, ...]
    recharge: RechargePolicy | None
    max_binds: int
    throughput: int  # messages per second, 0 = unlimited
    created_at: datetime
    #: The category of its messages unless their service_type maps to another.
    default_category: Category = Category.GENERAL
    #: When ``close_account`` closed it (status CLOSED); None while it is open.
    closed_at: datetime | None = None
    #: ISO 3166-1 alpha-2 region that national numbers (TON 2) are read in; "" = none.
    default_country: str = ""
    #: SHA-256 (64 lowercase hex digits) of the TLS client certificate its binds must
    #: present; "" = none pinned (any client, with or without a certificate).
    client_cert_sha256: str = ""
    #: Submits it may have in progress on one gateway (0 = no limit); None = the
    #: gateway's ``[server] account_submit_window``.
    submit_window: int | None = None
    #: Seconds before its bound sessions are unbound cleanly (0 = never); None = the
    #: gateway's ``[server] max_session_age_s``.
    max_session_age_s: int | None = None

    def allows_address(self, ip: str) -> bool:
        """True when ``ip`` (v4 or v6, as the socket reports it) is on the allowlist."""
        addr = _client_address(ip)
        if addr is None:
            return False
        return any(addr in _network(c) for c in self.allowed_ips)

    def client_cert_refusal(self, presented: str | None) -> str | None:
        """Why a bind showing ``presented`` (a certificate's SHA-256, lowercase hex, or
        None for no certificate) is refused by the account's pin; None when it may go on."""
        if not self.client_cert_sha256:
            return None
        if presented is None:
            return "client_cert_missing"
        if not hmac.compare_digest(presented, self.client_cert_sha256):
            return "client_cert_mismatch"
        return None

    def may_send_from(self, ton: int, npi: int, address: str) -> bool:
        """True when (ton, npi, address) is one of the registered senders."""
        # A loop, not any(<generator>): asked on every submit_sm, where the generator's
        # frame cost more than the comparisons (profile in docs/benchmarks.md).
        for sender in self.senders:  # noqa: SIM110 — see above
            if sender.address == address and sender.ton == ton:
                return True
        return False


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What ``Store.create_account`` needs; the password arrives already hashed."""

    system_id: str
    password_hash: str
    owner: str = ""
    contact_email: str = ""
    allowed_ips: tuple[str, ...] = ()
    senders: tuple[Sender, ...] = ()
    max_binds: int = 2
    throughput: int = 0
    default_category: Category = Category.GENERAL


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One immutable change of one balance, naming the account on the other side.

    ``counter_account`` is a :class:`HouseAccount` name, or for a transfer the other
    customer's system_id (whose own entry names this account back, with the opposite
    amount). Every entry the ledger returns has one; the default only spares callers
    that build entries by hand (tests, views) from naming it.
    """

    id: int
    system_id: str
    kind: EntryKind
    amount: int  # signed milli-credits
    balance_after: int
    idempotency_key: str
    message_id: str | None
    created_at: datetime
    note: str = ""
    counter_account: str = ""
    #: The credit package whose quantity the entry moves (``package_journal``), in
    #: milli-messages, ``balance_after`` being the package's remaining; None for an
    #: entry of the credit balance.
    package_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to debit and keep in the outbox until it is forwarded.

    ``pdu_body`` is the submit_sm body to send upstream, opaque to the ledger.
    ``owner`` is the gateway_id of the gateway that accepted it and will forward it
    (stored as NULL when empty: nobody, so any gateway may adopt it). It is not part of
    the debit's idempotency body: a client's retry through another gateway is the same
    debit, and stays the first gateway's message.
    """

    message_id: str
    system_id: str
    source_addr: str
    destination_addr: str
    segments: int
    cost: int  # milli-credits
    registered_delivery: int
    pdu_body: bytes
    owner: str = ""
    #: The message's category for credit packages; "" = the account's default
    #: (the gateway maps the submit_sm service_type, ``[packages] service_types``).
    category: str = ""


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A stored message with its forwarding state.

    ``owner``: the gateway that forwards it while ACCEPTED (the one that accepted it, or
    the one that adopted it from a dead gateway); None for nobody (rows from before
    migration 0003, debits without an owner).
    """

    message_id: str
    system_id: str
    source_addr: str
    destination_addr: str
    segments: int
    cost: int
    registered_delivery: int
    pdu_body: bytes
    state: MessageState
    upstream_id: str | None
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    #: The upstream (``[[upstreams]]`` name) that accepted it; None until forwarded.
    upstream: str | None = None

    def outbound(self, owner: str) -> OutboundMessage:
        """The message to forward again, now held by ``owner``."""
        return OutboundMessage(
            message_id=self.message_id,
            system_id=self.system_id,
            source_addr=self.source_addr,
            destination_addr=self.destination_addr,
            segments=self.segments,
            cost=self.cost,
            registered_delivery=self.registered_delivery,
            pdu_body=self.pdu_body,
            owner=owner,
        )


class DebitStatus(StrEnum):
    """Outcome of one debit in a batch."""

    OK = "ok"
    DUPLICATE = "duplicate"  # same idempotency key and body: the original result
    INSUFFICIENT_CREDIT = "insufficient_credit"
    UNKNOWN_ACCOUNT = "unknown_account"
    ACCOUNT_DISABLED = "account_disabled"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    #: The account's throughput (messages per second) is used up for now; nothing was
    #: written. Only a request that would otherwise have been OK is THROTTLED, so a retry
    #: a little later succeeds if nothing else changed.
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class DebitRequest:
    """Debit ``message.cost`` from ``message.system_id`` and store ``message``, atomically."""

    idempotency_key: str
    message: OutboundMessage


@dataclass(frozen=True, slots=True)
class DebitResult:
    """What happened to one DebitRequest. ``recharges`` fired in the same transaction."""

    status: DebitStatus
    message_id: str  # for DUPLICATE: the original message's id
    balance_after: int
    recharges: tuple[JournalEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class NewReceipt:
    """A receipt for ``Store.add_receipts``, stored with its message's final state.

    ``state`` (DELIVERED, FAILED, ...; never REJECTED) is written to the message in the
    same transaction, so the outcome and the receipt telling it commit together.
    ``claimed_by`` is the gateway that will push the receipt itself (it has a receiver of
    the account bound); ``None`` leaves it for whichever gateway claims it first.
    """

    system_id: str
    message_id: str
    pdu_body: bytes  # the deliver_sm body, opaque to the ledger
    state: MessageState | None
    claimed_by: str | None


@dataclass(frozen=True, slots=True)
class PendingReceipt:
    """A delivery receipt waiting for (or sent to) the account's receiver session.

    ``claimed_by``/``claimed_until``: the gateway pushing it and until when that claim
    holds (``None`` when unclaimed); an expired claim can be taken by another gateway.
    """

    id: int
    system_id: str
    message_id: str
    pdu_body: bytes  # the deliver_sm body, opaque to the ledger
    created_at: datetime
    claimed_by: str | None = None
    claimed_until: datetime | None = None


class AuditCheck(StrEnum):
    """Which of ``Store.audit``'s proofs failed."""

    #: A customer's cached balance differs from the sum of its entries, or is negative.
    BALANCE = "balance"
    #: A house account's cached balance differs from minus the entries naming it.
    HOUSE_BALANCE = "house_balance"
    #: All balances, customer and house, do not sum to zero.
    ZERO_SUM = "zero_sum"
    #: The two sides of a customer-to-customer pair do not cancel out.
    PAIR = "pair"
    #: Entries name a counter-account that is no account (or their own account).
    COUNTER = "counter"
    #: A credit package's remaining differs from the sum of its package journal.
    PACKAGE = "package"


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """One failed proof of ``Store.audit``.

    ``system_id`` is the account concerned (a house account's name for HOUSE_BALANCE,
    ``""`` for ZERO_SUM), ``balance`` the figure found and ``journal_sum`` what the
    entries say it must be: for BALANCE and HOUSE_BALANCE the cached balance and its
    entries; for ZERO_SUM the sum of every balance and 0; for PAIR the entries of
    ``system_id`` naming ``counter_account`` and minus those of the other side naming
    it back; for COUNTER the entries naming an unknown ``counter_account`` and 0.
    ``detail`` says it in words.
    """

    system_id: str
    balance: int
    journal_sum: int
    detail: str
    check: AuditCheck = AuditCheck.BALANCE
    counter_account: str | None = None


@dataclass(frozen=True, slots=True)
class NewApiToken:
    """What ``Store.create_api_token`` needs: the token's SHA-256, never the token."""

    token_id: str
    token_hash: str  # 64 lower-case hex digits
    owner: str | None  # None: an admin token (every account)
    note: str = ""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token of the management API, as stored (its hash, never the token)."""

    token_id: str
    token_hash: str
    owner: str | None  # None: an admin token
    note: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        """True for a token that sees every account."""
        return self.owner is None


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits in the ledger, over every gateway sharing it (for metrics)."""

    unforwarded: int  # messages ACCEPTED, not yet taken by the upstream
    oldest_unforwarded_at: datetime | None
    receipts_pending: int  # receipts no receiver has acknowledged yet
    mail_outbox: int = 0  # alert and recharge mails queued, not yet settled (migration 0007)
    callbacks_pending: int = 0  # receipt callbacks of HTTP jobs not yet settled (0010)


#: In ``AccountChanges``: drop the account's own value of a limit, the gateway's applies.
USE_GATEWAY_DEFAULT = -1


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """What ``Store.update_account`` changes, in one transaction; None leaves a field."""

    owner: str | None = None
    contact_email: str | None = None
    default_category: Category | None = None
    throughput: int | None = None  # messages per second, 0 = unlimited
    max_binds: int | None = None
    #: ISO 3166-1 alpha-2 region for national numbers; "" clears it.
    default_country: str | None = None
    #: SHA-256 of the client certificate to pin (hex, colons allowed); "" unpins.
    client_cert_sha256: str | None = None
    #: The account's own submit window, 0 = no limit; ``USE_GATEWAY_DEFAULT`` (-1) =
    #: the gateway's again.
    submit_window: int | None = None
    #: The account's own maximum session age in seconds, 0 = never;
    #: ``USE_GATEWAY_DEFAULT`` (-1) = the gateway's again.
    max_session_age_s: int | None = None

    @property
    def empty(self) -> bool:
        """True when nothing would change."""
        return all(
            v is None
            for v in (
                self.owner,
                self.contact_email,
                self.default_category,
                self.throughput,
                self.max_binds,
                self.default_country,
                self.client_cert_sha256,
                self.submit_window,
                self.max_session_age_s,
            )
        )


@dataclass(frozen=True, slots=True)
class BindRecord:
    """A session bound now, as the bind quota counts it: who, from where, on which gateway."""

    system_id: str
    gateway_id: str
    session_id: str
    kind: str  # tx, rx, trx
    peer: str  # the client's address as the gateway saw it ("" before migration 0005)
    bound_at: datetime


@dataclass(frozen=True, slots=True)
class TransferResult:
    """A transfer's two entries: ``out`` on the source, ``in_`` on the target.

    Each names the other account as its counter-account; the balances are each side's
    after the transfer (for a replay: as they were after the first).
    """

    out: JournalEntry
    in_: JournalEntry

    @property
    def source_balance(self) -> int:
        """The source's balance after the transfer, in milli-credits."""
        return self.out.balance_after

    @property
    def target_balance(self) -> int:
        """The target's balance after the transfer, in milli-credits."""
        return self.in_.balance_after
