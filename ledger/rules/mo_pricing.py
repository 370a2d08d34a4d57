"""Pricing messages from handsets (MO): the ``[delivery] mo_weight_credits`` debit.

An MO the owning account receives costs it the configured weight (0 by default: free).
The debit is a journal entry of kind ``mo`` against ``house:sales`` (an MO delivered is
capacity sold, as a submitted message is), written in the transaction that stores the
MO (``ledger.core.mo``), keyed on the MO's own id (``mo:ID``) so it happens once per
stored MO. A retried deliver_sm is recognised before that (the same body from the same
upstream within the retry window) and stores, and charges, nothing.

An account that cannot pay still gets its MO: the handset's message is its end user's,
the upstream has already delivered it to us, and holding it would lose the account's
traffic for a billing matter. It is then delivered **unpriced** (no entry; the gateway
logs ``mo.unpriced``), and the balance never goes negative. Credit packages are not
drawn: they hold messages to send, not to receive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ledger.models import AccountStatus, EntryKind
from ledger.rules.idempotency import fingerprint
from ledger.rules.planning import (
    COUNTER_OF_KIND,
    AccountState,
    Loaded,
    MovementLoad,
    Plan,
    PlannedEntry,
)

#: Prefix of the idempotency key of an MO's debit; the MO's id follows it.
MO_KEY_PREFIX = "mo:"
#: Why a priced MO was delivered without a debit (``StoredMo.unpriced``).
UNPRICED_BALANCE = "insufficient_credit"
UNPRICED_CLOSED = "account_closed"


def mo_key(mo_id: int) -> str:
    """The idempotency key of the debit of the MO stored with ``mo_id``."""
    return f"{MO_KEY_PREFIX}{mo_id}"


def unpriced_reason(state: AccountState | None, price: int) -> str:
    """Why ``state`` cannot pay ``price`` for an MO now; "" if it can.

    A disabled account still pays (it received the message); a closed one does not.
    """
    if state is None or state.status is AccountStatus.CLOSED:
        return UNPRICED_CLOSED
    if state.balance < price:
        return UNPRICED_BALANCE
    return ""


@dataclass(frozen=True, slots=True)
class MoCharge:
    """One stored MO to debit: its account, its id, its price (milli-credits, > 0)."""

    system_id: str
    mo_id: int
    price: int


@dataclass(slots=True)
class MoChargePlan(Plan[list[str]]):
    """The debits of a batch of MOs; resolves to each charge's ``unpriced`` reason."""

    outcomes: list[str] = field(default_factory=list)

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> list[str]:
        """One reason per charge, in order ("" = charged, now or by an earlier run)."""
        return list(self.outcomes)


@dataclass(frozen=True, slots=True)
class MoCharges:
    """The movement debiting a batch of just-stored MOs (``Store.store_mo``)."""

    charges: tuple[MoCharge, ...]

    def load(self) -> MovementLoad:
        """Lock the owning accounts, look up the MOs' keys."""
        return MovementLoad(
            accounts=sorted({c.system_id for c in self.charges}),
            keys=tuple(mo_key(c.mo_id) for c in self.charges),
        )

    def plan(self, loaded: Loaded, now: datetime) -> MoChargePlan:
        """Debit each MO its price while its account can pay; a key already in the
        journal is charged already (nothing written)."""
        plan = MoChargePlan()
        states: dict[str, AccountState] = {}
        for c in self.charges:
            key = mo_key(c.mo_id)
            if key in loaded.entries:
                plan.outcomes.append("")
                continue
            state = states.get(c.system_id) or loaded.accounts.get(c.system_id)
            reason = unpriced_reason(state, c.price)
            plan.outcomes.append(reason)
            if reason or state is None:
                continue
            after = replace(state, balance=state.balance - c.price)
            states[c.system_id] = after
            plan.accounts[c.system_id] = after
            plan.entries.append(
                PlannedEntry(
                    system_id=c.system_id,
                    counter_account=COUNTER_OF_KIND[EntryKind.MO].value,
                    kind=EntryKind.MO,
                    amount=-c.price,
                    balance_after=after.balance,
                    idempotency_key=key,
                    fingerprint=fingerprint("mo", c.system_id, str(c.mo_id), str(c.price)),
                    message_id=None,
                    note=f"mo {c.mo_id}",
                )
            )
        return plan
