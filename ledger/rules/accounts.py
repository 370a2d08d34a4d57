"""Account edits and closing: which fields a change writes, and when an account may close.

An account closes only when it holds nothing: no credits (transfer them to another
account of the owner first) and nothing else of value. What it holds is read in the
closing transaction as (what, amount) rows (``ACCOUNT_HOLDINGS`` in
``ledger.backends.statements``: today the balance; a table that holds value for an
account, such as credit packages, adds its row there), and :func:`check_close` refuses
while any is not zero. Closing is final: the status becomes CLOSED, which binds,
submits, credits and transfers refuse like DISABLED, and ``set_status`` cannot undo it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import TypeVar

from ledger.errors import AccountNotEmpty
from ledger.models import Account, AccountChanges, AccountStatus

S = TypeVar("S")


def check_close(account: Account, holdings: Mapping[str, int]) -> bool:
    """True when ``account`` must be closed now, False when it is closed already.

    Raises AccountNotEmpty (listing what is not zero) while it holds anything.
    """
    if account.status is AccountStatus.CLOSED:
        return False
    left = {what: amount for what, amount in holdings.items() if amount}
    if left:
        raise AccountNotEmpty(account.system_id, left)
    return True


def changes_to_write(
    changes: AccountChanges, statements: Mapping[str, S]
) -> Iterator[tuple[S, object]]:
    """(statement, value) for each field ``changes`` sets, in field order.

    ``statements`` maps each field name to what writes it; an enum is written as its
    value.
    """
    for f in fields(changes):
        value = getattr(changes, f.name)
        if value is not None:
            yield statements[f.name], getattr(value, "value", value)
