"""Against smppgw: did the balance move by exactly the cost of what was accepted?

Before a run ``mark`` notes the account's balance and its newest journal entry; after
it ``check`` reads every newer entry through the service layer
(:func:`gateway.admin.statement`, page by page) and compares:

- each accepted message id has exactly one ``debit`` entry, and no debit names a
  message the run did not see accepted (one that timed out here but was charged);
- the cost of the accepted messages is minus the sum of their debits, and agrees with
  the stored message records (``Store.get_message``, a sample of them);
- the balance change equals minus that cost plus every other entry written meanwhile
  (refunds of messages the upstream rejected, recharges, an operator's credit), which
  are listed by kind so that a reader sees why the two differ.

A debit drawn from a credit package moves the package, not the balance: an account with
packages of the messages' category shows its messages as ``unmatched``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.admin import statement
from ledger.models import EntryKind, JournalEntry
from ledger.store import Store

#: Journal entries read per page.
PAGE = 1000
#: Accepted messages whose stored record is compared with their debit.
SAMPLE = 200


@dataclass(frozen=True, slots=True)
class LedgerMark:
    """An account's balance and newest journal entry id before a run."""

    system_id: str
    balance: int
    last_entry_id: int


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """The ledger after a run, against what the run saw accepted (module docstring)."""

    system_id: str
    balance_before: int
    balance_after: int
    accepted: int
    debited: int
    #: Milli-credits: minus the sum of the accepted messages' debits.
    cost: int
    unmatched: int
    foreign_debits: int
    #: Other entries written during the run: kind -> sum of amounts (milli-credits).
    others: dict[str, int] = field(default_factory=dict)
    records_checked: int = 0
    records_wrong: int = 0

    @property
    def change(self) -> int:
        """The balance change, milli-credits (negative when money was spent)."""
        return self.balance_after - self.balance_before

    @property
    def ok(self) -> bool:
        """Every accepted message charged once, nothing else charged, balance consistent."""
        return (
            self.unmatched == 0
            and self.foreign_debits == 0
            and self.records_wrong == 0
            and self.change == -self.cost + sum(self.others.values())
        )

    def describe(self) -> str:
        """One line for the summary."""
        others = ", ".join(f"{k} {v / 1000:+g}" for k, v in self.others.items())
        verdict = "OK" if self.ok else "MISMATCH"
        return (
            f"{verdict}: {self.system_id} balance {self.balance_before / 1000:g} ->"
            f" {self.balance_after / 1000:g} ({self.change / 1000:+g} credits);"
            f" {self.accepted} accepted cost {self.cost / 1000:g} credits in"
            f" {self.debited} debits; unmatched {self.unmatched},"
            f" foreign debits {self.foreign_debits}, records {self.records_checked} checked"
            f" {self.records_wrong} wrong" + (f"; other entries: {others}" if others else "")
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (milli-credits)."""
        return {
            "ok": self.ok,
            "system_id": self.system_id,
            "balance_before": self.balance_before,
            "balance_after": self.balance_after,
            "change": self.change,
            "accepted": self.accepted,
            "debited": self.debited,
            "cost": self.cost,
            "unmatched": self.unmatched,
            "foreign_debits": self.foreign_debits,
            "others": self.others,
            "records_checked": self.records_checked,
            "records_wrong": self.records_wrong,
        }


async def mark(store: Store, system_id: str) -> LedgerMark:
    """Note the account's balance and newest entry before a run."""
    page = await statement(store, system_id, limit=1)
    last = page.entries[0].id if page.entries else 0
    return LedgerMark(system_id, page.account.balance, last)


async def entries_since(store: Store, system_id: str, after_id: int) -> list[JournalEntry]:
    """Every journal entry of the account newer than ``after_id``, oldest first."""
    found: list[JournalEntry] = []
    before: int | None = None
    while True:
        page = await statement(store, system_id, limit=PAGE, before=before)
        newer = [e for e in page.entries if e.id > after_id]
        found.extend(newer)
        if len(newer) < len(page.entries) or page.next_before is None:
            break
        before = page.next_before
    found.reverse()
    return found


async def check(store: Store, before: LedgerMark, accepted_ids: Iterable[str]) -> LedgerCheck:
    """Compare the journal written since ``before`` with the accepted message ids."""
    accepted = set(accepted_ids)
    entries = await entries_since(store, before.system_id, before.last_entry_id)
    debits: dict[str, int] = {}
    foreign = 0
    others: Counter[str] = Counter()
    for entry in entries:
        if entry.kind is EntryKind.DEBIT and entry.message_id in accepted:
            if entry.message_id in debits:
                foreign += 1  # a second debit of one message: charged twice
            debits[entry.message_id] = entry.amount
        elif entry.kind is EntryKind.DEBIT:
            foreign += 1
        else:
            others[entry.kind.value] += entry.amount
    wrong = 0
    sample = sorted(debits)[:SAMPLE]
    for message_id in sample:
        record = await store.get_message(message_id)
        wrong += record.cost != -debits[message_id]
    account = (await statement(store, before.system_id, limit=1)).account
    return LedgerCheck(
        system_id=before.system_id,
        balance_before=before.balance,
        balance_after=account.balance,
        accepted=len(accepted),
        debited=len(debits),
        cost=-sum(debits.values()),
        unmatched=len(accepted - debits.keys()),
        foreign_debits=foreign,
        others=dict(others),
        records_checked=len(sample),
        records_wrong=wrong,
    )


__all__ = ["PAGE", "SAMPLE", "LedgerCheck", "LedgerMark", "check", "entries_since", "mark"]
