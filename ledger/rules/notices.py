"""Recharge notices: what the debit transaction queues for the account holder's mail (pure).

An auto-recharge is money the holder did not ask for at that moment, and a recharge the
daily cap refused means messages will soon be refused: both are mailed to the account's
contact. They are decided where the recharge is decided, in the debit batch
(``ledger.rules.planning``), and queued in the alert outbox by the same transaction
(migration 0010), so a notice exists exactly when its decision committed; the mail goes
out after the commit, like a low-balance alert's (``gateway.mail.alerts``).

Each notice has a key that makes it one row whatever retries it: a recharge's is its
journal key's, so a replayed debit queues nothing new; a capped recharge's is the
account and the UTC day, so a client that keeps submitting at the cap is told once a
day, not once a submit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ledger.models.notices import NoticeKind

if TYPE_CHECKING:  # planning imports this module
    from ledger.rules.planning import AccountState

#: Prefix of a notice's outbox key (low-balance alerts use ``alert:``).
NOTICE_KEY_PREFIX = "notice:"


def fired_notice_key(recharge_key: str) -> str:
    """The outbox key of the mail telling of the recharge journaled under ``recharge_key``."""
    return f"{NOTICE_KEY_PREFIX}{NoticeKind.RECHARGE_FIRED.value}:{recharge_key}"


def capped_notice_key(system_id: str, day: date) -> str:
    """The outbox key of the one capped-recharge mail of ``system_id`` on UTC ``day``."""
    return f"{NOTICE_KEY_PREFIX}{NoticeKind.RECHARGE_CAPPED.value}:{system_id}:{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """An alert-outbox row a movement writes (ignored if its key is already queued).

    ``entry_index`` names the plan's journal entry it tells of (a recharge), whose id
    the backend fills in; None for a capped recharge, which wrote no entry.
    """

    key: str
    kind: NoticeKind
    system_id: str
    threshold: int
    balance: int
    amount: int
    recharges_today: int
    daily_cap: int
    entry_index: int | None = None


def fired_notice(state: AccountState, recharge_key: str, entry_index: int) -> PlannedNotice:
    """The notice of the recharge planned as entry ``entry_index``; ``state`` is the
    account once that recharge and its debit are planned."""
    policy = state.policy
    assert policy is not None  # only a policy recharges
    return PlannedNotice(
        key=fired_notice_key(recharge_key),
        kind=NoticeKind.RECHARGE_FIRED,
        system_id=state.system_id,
        threshold=policy.threshold,
        balance=state.balance,
        amount=policy.amount,
        recharges_today=state.recharges_today,
        daily_cap=policy.daily_cap,
        entry_index=entry_index,
    )


def capped_notice(state: AccountState, day: date, recharges_today: int) -> PlannedNotice:
    """The notice that a recharge of ``state``'s account was due on ``day`` but the cap
    was used up (``state.balance``: the balance the debit left, or kept if refused)."""
    policy = state.policy
    assert policy is not None  # only a policy can be capped
    return PlannedNotice(
        key=capped_notice_key(state.system_id, day),
        kind=NoticeKind.RECHARGE_CAPPED,
        system_id=state.system_id,
        threshold=policy.threshold,
        balance=state.balance,
        amount=policy.amount,
        recharges_today=recharges_today,
        daily_cap=policy.daily_cap,
    )
