"""The rules both stores apply, with no I/O: auto-recharge, debit planning, account data.

Both stores do the same thing in ``debit_batch``: take exclusive hold of the batch's
accounts (SQLite: ``BEGIN IMMEDIATE`` on the one writer thread; PostgreSQL: ``SELECT ...
FOR UPDATE`` in sorted system_id order), load them and the journal rows of the batch's
idempotency keys, call :func:`plan_batch`, write what the plan says, and commit. Keeping
every decision here is what makes the two stores behave identically: the SQL only loads
and stores.

The auto-recharge rule (policy: threshold T, amount R, daily cap M), at most one
recharge per debit, for balance b and cost c:

- b >= c: debit; then if the debit crossed the threshold (b - c <= T < b) and fewer than
  M recharges happened today, credit R after the debit;
- b < c: if a policy exists, the cap is not reached and b + R >= c, credit R first and
  then debit; otherwise refuse (INSUFFICIENT_CREDIT) and write nothing.

"Today" is the UTC day of the injected clock; the counter restarts on a new day.

Throughput (``Account.throughput`` messages per second, 0 = unlimited) is a token bucket
kept on the account row, so every gateway sharing the database draws from one bucket
under the same lock as the balance: capacity = throughput (one second of burst), refilled
at throughput tokens per second of the injected clock, one token per accepted debit.
Tokens are counted in micro-tokens (:data:`TOKEN` per message): the refill is then
``elapsed microseconds x throughput``, an exact integer at the clocks' microsecond
resolution, so no rounding ever leaks or invents capacity. A debit that finds no token is
THROTTLED, and only a debit that would otherwise have been accepted: nothing is written
for it, the bucket included (a refill is a pure function of time, so not storing it
loses nothing).

Account data validation lives here too (``validate_*``), so both stores refuse the same
inputs with the same ``InvalidAccountData`` messages, and so do the outbox adoption's
argument check and answer order (``validate_adopt``, ``adoption_order``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from ledger.errors import InvalidAccountData
from ledger.models import (
    MILLI,
    RECHARGE_AMOUNTS_CREDITS,
    SYSTEM_ID_RE,
    AccountStatus,
    AuditProblem,
    DebitRequest,
    DebitResult,
    DebitStatus,
    EntryKind,
    JournalEntry,
    MessageRecord,
    NewAccount,
    OutboundMessage,
    RechargePolicy,
    Sender,
)

#: Prefix of the idempotency key of a recharge fired by the debit whose key follows it.
RECHARGE_KEY_PREFIX = "recharge:"
#: Kinds ``Store.credit`` may write: the ones that add money.
CREDIT_KINDS = frozenset(
    {EntryKind.CREDIT, EntryKind.RECHARGE, EntryKind.REFUND, EntryKind.TRANSFER_IN}
)
#: Prefix of the idempotency key of the refund of the message whose id follows it.
REFUND_KEY_PREFIX = "refund:"
#: Micro-tokens one message takes from its account's throughput bucket.
TOKEN = 1_000_000
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class DebitDecision:
    """What to do with one debit: refuse it, or accept it with a recharge before or after."""

    accepted: bool
    recharge_before: bool = False
    recharge_after: bool = False


def decide_debit(
    balance: int, cost: int, policy: RechargePolicy | None, recharges_today: int
) -> DebitDecision:
    """Apply the auto-recharge rule (see the module docstring) to one debit."""
    can_recharge = policy is not None and recharges_today < policy.daily_cap
    if balance >= cost:
        after = balance - cost
        crossed = policy is not None and after <= policy.threshold < balance
        return DebitDecision(accepted=True, recharge_after=crossed and can_recharge)
    if policy is not None and can_recharge and balance + policy.amount >= cost:
        return DebitDecision(accepted=True, recharge_before=True)
    return DebitDecision(accepted=False)


def recharges_used(recharge_day: date | None, recharges_today: int, today: date) -> int:
    """Recharges already counted against ``today``: the stored counter only if it is today's."""
    return recharges_today if recharge_day == today else 0


def available_tokens(
    throughput: int, tokens: int, updated_at: datetime | None, now: datetime
) -> int:
    """Micro-tokens in an account's bucket at ``now``.

    ``tokens`` were there at ``updated_at`` (``None``: never used, so full). The bucket
    holds at most ``throughput`` tokens and refills ``throughput`` micro-tokens per
    microsecond. A clock that went backwards (another host's, NTP) refills nothing.
    """
    capacity = throughput * TOKEN
    if updated_at is None:
        return capacity
    elapsed_us = max(0, (now - updated_at) // _MICROSECOND)
    return min(capacity, tokens + elapsed_us * throughput)


def utc_day(now: datetime) -> date:
    """The UTC calendar day of ``now`` (naive datetimes are taken as UTC)."""
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(UTC).date()


def _fingerprint(*parts: str | bytes) -> str:
    # Length-prefixed so that ("ab", "c") and ("a", "bc") cannot collide.
    h = hashlib.sha256()
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(raw).to_bytes(8, "big"))
        h.update(raw)
    return h.hexdigest()


def debit_fingerprint(message: OutboundMessage) -> str:
    """Identity of a debit's body: account, cost, addresses and PDU body, NOT message_id.

    A client that resubmits after a lost response gets a new message_id from the gateway
    but sends the same content, so the message_id must not be part of the body. Nor is
    the owner: the retry may arrive through another gateway, and is still a replay.
    """
    return _fingerprint(
        "debit",
        message.system_id,
        str(message.cost),
        message.source_addr,
        message.destination_addr,
        message.pdu_body,
    )


def credit_fingerprint(system_id: str, kind: EntryKind, amount: int) -> str:
    """Identity of a manual credit's body (the note is commentary, not body)."""
    return _fingerprint("credit", system_id, kind.value, str(amount))


def recharge_fingerprint(system_id: str, amount: int) -> str:
    """Identity of an automatic recharge's body."""
    return _fingerprint("recharge", system_id, str(amount))


def refund_fingerprint(message_id: str) -> str:
    """Identity of a refund's body: the message it gives back."""
    return _fingerprint("refund", message_id)


@dataclass(slots=True)
class AccountState:
    """The part of an account a debit reads and writes; the planner updates a copy."""

    system_id: str
    status: AccountStatus
    balance: int
    policy: RechargePolicy | None
    recharge_day: date | None
    recharges_today: int
    throughput: int = 0  # messages per second, 0 = unlimited
    #: The bucket as stored: micro-tokens at ``tb_updated_at`` (None = never used, full).
    tb_tokens: int = 0
    tb_updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A journal row already committed, with the fingerprint of the body that wrote it."""

    entry: JournalEntry
    fingerprint: str


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """A journal row to insert (the store assigns its id and timestamp)."""

    system_id: str
    kind: EntryKind
    amount: int
    balance_after: int
    idempotency_key: str
    fingerprint: str
    message_id: str | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """A message row (state ACCEPTED) to insert with its debit.

    Its owner is ``message.owner`` (the accepting gateway; "" is stored as NULL).
    """

    idempotency_key: str
    message: OutboundMessage


@dataclass(frozen=True, slots=True)
class PlannedResult:
    """One request's outcome; recharges refer to new entries by index or to stored ones."""

    status: DebitStatus
    message_id: str
    balance_after: int
    recharge_index: int | None = None
    stored_recharges: tuple[JournalEntry, ...] = ()


@dataclass(slots=True)
class BatchPlan:
    """Everything one ``debit_batch`` writes, in order, and the result of each request."""

    results: list[PlannedResult] = field(default_factory=list)
    entries: list[PlannedEntry] = field(default_factory=list)
    messages: list[PlannedMessage] = field(default_factory=list)
    #: Final state of every account the batch changed, keyed by system_id.
    accounts: dict[str, AccountState] = field(default_factory=dict)

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> list[DebitResult]:
        """Turn the plan into results once the entries are inserted with ``entry_ids``."""
        if len(entry_ids) != len(self.entries):
            raise ValueError("one id per planned entry is needed")
        out: list[DebitResult] = []
        for r in self.results:
            recharges = r.stored_recharges
            if r.recharge_index is not None:
                e = self.entries[r.recharge_index]
                recharges = (
                    JournalEntry(
                        id=entry_ids[r.recharge_index],
                        system_id=e.system_id,
                        kind=e.kind,
                        amount=e.amount,
                        balance_after=e.balance_after,
                        idempotency_key=e.idempotency_key,
                        message_id=e.message_id,
                        created_at=created_at,
                        note=e.note,
                    ),
                )
            out.append(DebitResult(r.status, r.message_id, r.balance_after, recharges))
        return out


def lookup_keys(requests: Sequence[DebitRequest]) -> list[str]:
    """The journal keys a batch must look up: each request's key and its recharge key."""
    keys: list[str] = []
    for req in requests:
        keys.append(req.idempotency_key)
        keys.append(RECHARGE_KEY_PREFIX + req.idempotency_key)
    return keys


def validate_request(request: DebitRequest) -> None:
    """Reject requests no store can represent (a programming error, not a refusal)."""
    m = request.message
    if not request.idempotency_key:
        raise ValueError("a debit needs an idempotency key")
    if m.cost <= 0:
        raise ValueError(f"a debit costs more than zero milli-credits, not {m.cost}")
    if m.segments < 1:
        raise ValueError(f"a message has at least one segment, not {m.segments}")
    if not m.message_id:
        raise ValueError("a debit needs a message_id")


def plan_batch(
    requests: Sequence[DebitRequest],
    accounts: Mapping[str, AccountState],
    stored: Mapping[str, StoredEntry],
    taken_message_ids: Collection[str],
    now: datetime,
) -> BatchPlan:
    """Decide every request in order against the loaded, exclusively held state.

    ``accounts`` holds the batch's existing accounts (missing = unknown); ``stored`` the
    committed journal rows for :func:`lookup_keys`; ``taken_message_ids`` the batch's
    message ids that already have a message row; ``now`` the injected clock's time (its
    UTC day counts recharges, it refills throughput buckets). Nothing here mutates the
    inputs.
    """
    plan = BatchPlan()
    today = utc_day(now)
    states = {k: replace(v) for k, v in accounts.items()}
    # Accounts whose bucket has been refilled to ``now`` in this batch (once each).
    refilled: set[str] = set()
    # Keys written by this batch so far: key -> (fingerprint, result of the request).
    planned: dict[str, tuple[str, PlannedResult | None]] = {}
    batch_message_ids: set[str] = set()

    for req in requests:
        validate_request(req)
        msg, key = req.message, req.idempotency_key
        fp = debit_fingerprint(msg)
        state = states.get(msg.system_id)
        current = state.balance if state is not None else 0

        prior = stored.get(key)
        if prior is not None:
            if prior.fingerprint == fp and prior.entry.message_id is not None:
                again = stored.get(RECHARGE_KEY_PREFIX + key)
                balance_after = prior.entry.balance_after
                if again is not None and again.entry.id > prior.entry.id:
                    balance_after = again.entry.balance_after  # the recharge came after
                plan.results.append(
                    PlannedResult(
                        DebitStatus.DUPLICATE,
                        prior.entry.message_id,
                        balance_after,
                        stored_recharges=(again.entry,) if again is not None else (),
                    )
                )
            else:
                plan.results.append(
                    PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
                )
            continue
        if key in planned:
            planned_fp, first = planned[key]
            if planned_fp == fp and first is not None:
                plan.results.append(replace(first, status=DebitStatus.DUPLICATE))
            else:
                plan.results.append(
                    PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
                )
            continue

        if state is None:
            plan.results.append(PlannedResult(DebitStatus.UNKNOWN_ACCOUNT, msg.message_id, 0))
            continue
        if state.status is not AccountStatus.ACTIVE:
            plan.results.append(
                PlannedResult(DebitStatus.ACCOUNT_DISABLED, msg.message_id, current)
            )
            continue
        if msg.message_id in taken_message_ids or msg.message_id in batch_message_ids:
            # A message id is an identity too: reusing it under another key would make two
            # debits share one outbox row. Refuse rather than fail the whole batch.
            plan.results.append(
                PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
            )
            continue

        used = recharges_used(state.recharge_day, state.recharges_today, today)
        decision = decide_debit(state.balance, msg.cost, state.policy, used)
        recharge_key = RECHARGE_KEY_PREFIX + key
        wants_recharge = decision.recharge_before or decision.recharge_after
        if wants_recharge and (recharge_key in stored or recharge_key in planned):
            # Someone used our derived key for another entry; writing would break the
            # unique key, so refuse this request alone.
            plan.results.append(
                PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
            )
            continue
        if not decision.accepted:
            plan.results.append(
                PlannedResult(DebitStatus.INSUFFICIENT_CREDIT, msg.message_id, current)
            )
            continue
        if state.throughput > 0:
            # Last check on purpose: THROTTLED means "accepted, were it not for the rate".
            if state.system_id not in refilled:
                state.tb_tokens = available_tokens(
                    state.throughput, state.tb_tokens, state.tb_updated_at, now
                )
                if state.tb_updated_at is None or now > state.tb_updated_at:
                    state.tb_updated_at = now
                refilled.add(state.system_id)
            if state.tb_tokens < TOKEN:
                plan.results.append(PlannedResult(DebitStatus.THROTTLED, msg.message_id, current))
                continue
            state.tb_tokens -= TOKEN

        recharge_index: int | None = None
        if decision.recharge_before:
            recharge_index = _recharge(plan, state, recharge_key, used, today, msg.cost, True)
        state.balance -= msg.cost
        plan.entries.append(
            PlannedEntry(
                system_id=state.system_id,
                kind=EntryKind.DEBIT,
                amount=-msg.cost,
                balance_after=state.balance,
                idempotency_key=key,
                fingerprint=fp,
                message_id=msg.message_id,
            )
        )
        if decision.recharge_after:
            recharge_index = _recharge(plan, state, recharge_key, used, today, msg.cost, False)
        plan.messages.append(PlannedMessage(key, msg))
        batch_message_ids.add(msg.message_id)
        # balance_after is the balance once this debit and its recharge are both done.
        result = PlannedResult(
            DebitStatus.OK, msg.message_id, state.balance, recharge_index=recharge_index
        )
        plan.results.append(result)
        planned[key] = (fp, result)
        if recharge_index is not None:
            planned[recharge_key] = (plan.entries[recharge_index].fingerprint, None)
        plan.accounts[state.system_id] = state
    return plan


def _recharge(
    plan: BatchPlan,
    state: AccountState,
    key: str,
    used: int,
    today: date,
    cost: int,
    before: bool,
) -> int:
    """Append one recharge entry to ``plan`` and count it against today; return its index."""
    assert state.policy is not None  # decide_debit only recharges with a policy
    amount = state.policy.amount
    state.balance += amount
    state.recharge_day = today
    state.recharges_today = used + 1
    if before:
        why = f"auto-recharge: balance {state.balance - amount} below cost {cost}"
    else:
        why = (
            f"auto-recharge: debit of {cost} left {state.balance - amount},"
            f" at or below threshold {state.policy.threshold}"
        )
    why += f" ({state.recharges_today} of {state.policy.daily_cap} today)"
    plan.entries.append(
        PlannedEntry(
            system_id=state.system_id,
            kind=EntryKind.RECHARGE,
            amount=amount,
            balance_after=state.balance,
            idempotency_key=key,
            fingerprint=recharge_fingerprint(state.system_id, amount),
            message_id=None,
            note=why,
        )
    )
    return len(plan.entries) - 1


# -- outbox adoption ------------------------------------------------------------------------


def validate_adopt(gateway_id: str, limit: int) -> None:
    """Refuse ``adopt_unforwarded`` arguments no store accepts (programming errors)."""
    if not gateway_id:
        raise ValueError("adopting messages needs a gateway id")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a whole number >= 1, not {limit!r}")


def adoption_order(message: MessageRecord) -> tuple[datetime, str]:
    """Sort key of ``adopt_unforwarded``'s answer: oldest first, then message_id.

    Python compares strings by code point, which is SQLite's BINARY and PostgreSQL's
    ``COLLATE "C"`` order for UTF-8, so the key agrees with both stores' ORDER BY.
    """
    return (message.created_at, message.message_id)


# -- account data ---------------------------------------------------------------------------

#: TONs a registered sender may use: international, network specific, alphanumeric.
SENDER_TONS = frozenset({1, 3, 5})


def validate_system_id(system_id: str) -> str:
    """``system_id`` if it matches SYSTEM_ID_RE (``smpp-`` prefix, at most 15 characters)."""
    if not isinstance(system_id, str) or SYSTEM_ID_RE.fullmatch(system_id) is None:
        raise InvalidAccountData(
            f"system_id {system_id!r} must be 'smpp-' then 1-10 of a-z 0-9 . _ -"
        )
    return system_id


def normalise_cidr(cidr: str) -> str:
    """A CIDR in canonical form: host bits cleared, a bare address as /32 or /128."""
    try:
        return str(ipaddress.ip_network(cidr.strip(), strict=False))
    except (ValueError, TypeError, AttributeError):
        raise InvalidAccountData(f"not an IP address or CIDR: {cidr!r}") from None


def validate_sender(sender: Sender) -> Sender:
    """``sender`` if its TON is 1, 3 or 5 and its address fits the TON (checked lightly)."""
    if sender.ton not in SENDER_TONS:
        raise InvalidAccountData(f"sender TON must be 1, 3 or 5, not {sender.ton}")
    if not 0 <= sender.npi <= 255:
        raise InvalidAccountData(f"sender NPI must fit one octet, not {sender.npi}")
    addr = sender.address
    if sender.ton == 5:
        if not (1 <= len(addr) <= 11 and addr.isascii() and addr.isalnum()):
            raise InvalidAccountData(
                f"alphanumeric sender {addr!r} must be 1-11 ASCII letters or digits"
            )
    elif not (1 <= len(addr) <= 20 and addr.isascii() and addr.isdigit()):
        raise InvalidAccountData(f"sender {addr!r} with TON {sender.ton} must be digits")
    return sender


def validate_policy(policy: RechargePolicy) -> RechargePolicy:
    """``policy`` if the amount is an allowed one, the cap at least 1, the threshold >= 0."""
    allowed = tuple(c * MILLI for c in RECHARGE_AMOUNTS_CREDITS)
    if policy.amount not in allowed:
        raise InvalidAccountData(
            f"recharge amount {policy.amount} must be one of {allowed} milli-credits"
        )
    if policy.daily_cap < 1:
        raise InvalidAccountData(f"recharge daily cap must be at least 1, not {policy.daily_cap}")
    if policy.threshold < 0:
        raise InvalidAccountData(f"recharge threshold must be >= 0, not {policy.threshold}")
    return policy


#: Largest max_binds or throughput: PostgreSQL stores them as INTEGER, and both stores
#: must refuse the same values.
_INT32_MAX = 2**31 - 1


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value <= _INT32_MAX


def validate_max_binds(max_binds: int) -> int:
    """``max_binds`` if it is at least 1 (an account that may never bind is disabled)."""
    if not _whole(max_binds) or max_binds < 1:
        raise InvalidAccountData(f"max_binds must be at least 1, not {max_binds!r}")
    return max_binds


def validate_throughput(per_second: int) -> int:
    """``per_second`` if it is a whole number >= 0 (0 = unlimited)."""
    if not _whole(per_second) or per_second < 0:
        raise InvalidAccountData(f"throughput must be >= 0, not {per_second!r}")
    return per_second


def validate_new_account(new: NewAccount) -> NewAccount:
    """``new`` with its CIDRs normalised and de-duplicated; InvalidAccountData otherwise."""
    validate_system_id(new.system_id)
    if not new.password_hash:
        raise InvalidAccountData("an account needs a password hash")
    if new.contact_email and "@" not in new.contact_email:
        raise InvalidAccountData(f"contact email {new.contact_email!r} has no '@'")
    validate_max_binds(new.max_binds)
    validate_throughput(new.throughput)
    for sender in new.senders:
        validate_sender(sender)
    cidrs = tuple(dict.fromkeys(normalise_cidr(c) for c in new.allowed_ips))
    senders = tuple(dict.fromkeys(new.senders))
    return replace(new, allowed_ips=cidrs, senders=senders)


def audit_problem(system_id: str, balance: int, journal_sum: int) -> AuditProblem:
    """Describe an account that fails the audit (balance != journal sum, or negative)."""
    problems = []
    if balance != journal_sum:
        problems.append(f"balance {balance} != journal sum {journal_sum}")
    if balance < 0:
        problems.append(f"negative balance {balance}")
    return AuditProblem(system_id, balance, journal_sum, "; ".join(problems))
