"""The batch refund: many messages' refunds in ONE transaction (cancel_sm by addresses).

Each message is refunded exactly as ``Store.refund`` refunds it, by the single refund's
own planner (``RefundRequest.plan``) run once per message on the state the messages
before it left (the account's balance, the packages' remainders), so the rules cannot
drift apart: the same key ``refund:<message_id>`` per message (a retried batch, or a
single refund before or after it, refunds a message once), the same legs back to the
packages a message drew on, REJECTED per message. One message's refusal is its own
outcome and the others are refunded all the same; only an error of the whole batch
(an idempotency conflict, the database) writes nothing at all.

The holder check (``holder=``: only messages that gateway holds unforwarded) is read by
the core before the movement and given here as ``not_held``; the core checks again
once the rows are written (``ledger.core.message_ops``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ledger.models import JournalEntry
from ledger.models.outcome import RefundOutcome, RefundRefusal
from ledger.rules.idempotency import refund_key
from ledger.rules.package_moves import RefundPlan, RefundRequest
from ledger.rules.planning import (
    EntryPlan,
    Loaded,
    MovementLoad,
    PackageLoad,
    Plan,
    draw_key,
)


@dataclass(frozen=True, slots=True)
class _FirstLeg:
    """Where a refund written by the batch has its first leg: the plan's credit entries,
    or (a message that drew on a package first) its package entries, at ``index``."""

    in_package: bool
    index: int


#: A message's outcome before the batch is written: refused, replayed, or new.
_Slot = RefundRefusal | JournalEntry | _FirstLeg


@dataclass(slots=True)
class RefundBatchPlan(Plan[list[RefundOutcome]]):
    """All the refunds' legs, in message order; its result is one outcome per message."""

    slots: list[tuple[str, _Slot]] = field(default_factory=list)

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> list[RefundOutcome]:
        """Each message's first leg (as ``Store.refund`` answers it), or its refusal."""
        out: list[RefundOutcome] = []
        for mid, slot in self.slots:
            if isinstance(slot, RefundRefusal):
                out.append(RefundOutcome(mid, None, slot))
            elif isinstance(slot, JournalEntry):
                out.append(RefundOutcome(mid, slot))
            elif slot.in_package:
                row = self.package_entries[slot.index]
                out.append(
                    RefundOutcome(mid, row.entry(self.package_entry_ids[slot.index], created_at))
                )
            else:
                row = self.entries[slot.index]
                out.append(RefundOutcome(mid, row.entry(entry_ids[slot.index], created_at)))
        return out


@dataclass(frozen=True, slots=True)
class RefundBatch:
    """``Store.refund_many``'s arguments: refund each of ``message_ids`` (distinct) once.

    ``not_held``: messages the holder check found not ACCEPTED and the holder's; each is
    refused (NOT_HELD) unless it was refunded before, which is answered as a replay, as
    the single refund answers it.
    """

    message_ids: tuple[str, ...]
    reason: str
    not_held: frozenset[str] = frozenset()

    def load(self) -> MovementLoad:
        """Read the messages and their draws, lock their accounts, look up every key."""
        keys = [refund_key(mid) for mid in self.message_ids]
        return MovementLoad(
            keys=keys,
            message_ids=self.message_ids,
            lock_message_owners=True,
            packages=PackageLoad(draws=True, keys=keys, more_keys=self.leg_keys),
        )

    def leg_keys(self, loaded: Loaded) -> Collection[str]:
        """The keys the legs after the first may have, of every message with draws."""
        keys: list[str] = []
        for mid, draws in loaded.draws.items():
            key = refund_key(mid)
            keys.extend(draw_key(key, n) for n in range(1, 2 * len(draws) + 1))
        return keys

    def plan(self, loaded: Loaded, now: datetime) -> RefundBatchPlan:
        """Plan each message's refund on what the ones before it left.

        Raises IdempotencyConflict (a key taken by another body): nothing is written.
        """
        batch = RefundBatchPlan()
        accounts = dict(loaded.accounts)
        packages = dict(loaded.packages)
        for mid in self.message_ids:
            key = refund_key(mid)
            if mid not in loaded.messages:
                batch.slots.append((mid, RefundRefusal.UNKNOWN))
                continue
            if mid in self.not_held and key not in loaded.entries:
                batch.slots.append((mid, RefundRefusal.NOT_HELD))
                continue
            view = Loaded(accounts, loaded.entries, loaded.messages, packages, loaded.draws)
            one = RefundRequest(mid, self.reason).plan(view, now)
            prior = one.prior if isinstance(one, EntryPlan | RefundPlan) else None
            if prior is not None:
                batch.slots.append((mid, prior))
                continue
            # As ``RefundPlan.resolve`` finds it: the credit entry with the key, else the
            # first package entry.
            if one.entries and one.entries[0].idempotency_key == key:
                batch.slots.append((mid, _FirstLeg(False, len(batch.entries))))
            else:
                batch.slots.append((mid, _FirstLeg(True, len(batch.package_entries))))
            batch.entries.extend(one.entries)
            batch.package_entries.extend(one.package_entries)
            batch.accounts.update(one.accounts)
            accounts.update(one.accounts)
            batch.packages.update(one.packages)
            packages.update(one.packages)
            batch.message_states.update(one.message_states)
        return batch
