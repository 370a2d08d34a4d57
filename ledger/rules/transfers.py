"""The transfer: credits moved between two accounts of one owner, both sides or neither.

A :class:`TransferRequest` is a ``Movement`` (see ``ledger.rules.planning``): its
transaction locks both accounts in sorted order and looks up both of its keys, and
:meth:`TransferRequest.plan` writes ONE pair of journal entries that name each other,
``transfer_out`` on the source and ``transfer_in`` on the target, with opposite amounts.
No house account takes part: the money stays among the customers, so the pair nets to
zero on its own (the audit's proof (c)).

Refusals, checked in this order, each a ``LedgerError`` and nothing written:

1. the key was used before: the same body is a replay (the first result, nothing
   written), another body :class:`~ledger.errors.IdempotencyConflict`;
2. the source or the target does not exist: ``UnknownAccount``;
3. either is disabled or closed: ``AccountNotActive`` (``AccountClosed``);
4. they do not have one (non-empty) owner: ``OwnersDiffer``;
5. the source's balance does not cover the amount: ``InsufficientCredit``;
6. the target would pass ``max_balance``: ``LimitExceeded``.

The arguments themselves (a positive whole number of milli-credits, two different
accounts, a key) are checked before the transaction by
``ledger.rules.validation.validate_transfer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ledger.errors import (
    AccountClosed,
    AccountNotActive,
    IdempotencyConflict,
    InsufficientCredit,
    OwnersDiffer,
    UnknownAccount,
)
from ledger.models import AccountStatus, EntryKind, TransferResult, milli_to_credits
from ledger.rules.idempotency import transfer_fingerprint, transfer_in_key
from ledger.rules.limits import LedgerLimits, check_balance
from ledger.rules.planning import AccountState, Loaded, MovementLoad, Plan, PlannedEntry


@dataclass(slots=True)
class TransferPlan(Plan[TransferResult]):
    """The pair of entries a transfer writes, or the ``prior`` result of a replay."""

    prior: TransferResult | None = None

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> TransferResult:
        """The replayed result, or the two entries just written (out, then in)."""
        if self.prior is not None:
            return self.prior
        out_id, in_id = entry_ids
        out, in_ = self.entries
        return TransferResult(out.entry(out_id, created_at), in_.entry(in_id, created_at))


def _active(state: AccountState) -> AccountState:
    if state.status is AccountStatus.CLOSED:
        raise AccountClosed(state.system_id)
    if state.status is not AccountStatus.ACTIVE:
        raise AccountNotActive(state.system_id, state.status.value)
    return state


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """``Store.transfer``'s arguments as one movement (see the module docstring)."""

    source: str
    target: str
    amount: int
    idempotency_key: str
    note: str = ""
    limits: LedgerLimits = field(default_factory=LedgerLimits)

    @property
    def in_key(self) -> str:
        """The key of the target's entry."""
        return transfer_in_key(self.idempotency_key)

    def load(self) -> MovementLoad:
        """Lock both accounts (sorted), look up both keys."""
        return MovementLoad(
            accounts=sorted({self.source, self.target}),
            keys=(self.idempotency_key, self.in_key),
        )

    def plan(self, loaded: Loaded, now: datetime) -> TransferPlan:
        """Move the amount, or refuse; a replayed key returns the first pair."""
        fp = transfer_fingerprint(self.source, self.target, self.amount)
        out_prior = loaded.entries.get(self.idempotency_key)
        in_prior = loaded.entries.get(self.in_key)
        if out_prior is not None or in_prior is not None:
            # Both entries of the first transfer, with this body: a replay. One alone
            # means the key (or its derived key) was used for something else.
            if (
                out_prior is None
                or in_prior is None
                or out_prior.fingerprint != fp
                or in_prior.fingerprint != fp
            ):
                raise IdempotencyConflict(self.idempotency_key)
            return TransferPlan(prior=TransferResult(out_prior.entry, in_prior.entry))
        source = loaded.accounts.get(self.source)
        if source is None:
            raise UnknownAccount(self.source)
        target = loaded.accounts.get(self.target)
        if target is None:
            raise UnknownAccount(self.target)
        _active(source)
        _active(target)
        if not source.owner or source.owner != target.owner:
            raise OwnersDiffer(source.system_id, source.owner, target.system_id, target.owner)
        if source.balance < self.amount:
            raise InsufficientCredit(
                f"{source.system_id} has {milli_to_credits(source.balance)} credits,"
                f" less than the {milli_to_credits(self.amount)} to transfer"
            )
        check_balance(target.system_id, target.balance, self.amount, self.limits)
        source_after = replace(source, balance=source.balance - self.amount)
        target_after = replace(target, balance=target.balance + self.amount)

        def leg(
            after: AccountState, counter: str, kind: EntryKind, amount: int, key: str
        ) -> PlannedEntry:
            return PlannedEntry(
                system_id=after.system_id,
                counter_account=counter,
                kind=kind,
                amount=amount,
                balance_after=after.balance,
                idempotency_key=key,
                fingerprint=fp,
                message_id=None,
                note=self.note,
            )

        out = leg(
            source_after,
            target.system_id,
            EntryKind.TRANSFER_OUT,
            -self.amount,
            self.idempotency_key,
        )
        in_ = leg(target_after, source.system_id, EntryKind.TRANSFER_IN, self.amount, self.in_key)
        return TransferPlan(
            accounts={source.system_id: source_after, target.system_id: target_after},
            entries=[out, in_],
        )
