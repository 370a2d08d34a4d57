"""The audit's proofs, and how a failed one is described.

``Store.audit`` proves, on one snapshot of the database:

(a) each customer's cached balance equals the sum of its entries and is not negative,
    and each house account's cached balance equals minus the sum of the entries naming
    it (a house account's entries are the customer legs that name it);
(b) all balances, customer and house, sum to zero;
(c) every pair of customer accounts nets to zero: the entries of A naming B cancel the
    entries of B naming A (a transfer is one entry on each side);
(d) every entry names a counter-account that exists and is not its own account.

One SQL statement (``ledger.backends.statements.AUDIT``) finds the candidates as
:class:`AuditRow` rows; :func:`audit_problems` turns them into ``AuditProblem`` records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.models import AuditCheck, AuditProblem


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One failed check as the audit statement reports it.

    ``balance`` is the cached (or, for PAIR and COUNTER, this side's) figure and
    ``total`` what the entries say it must be.
    """

    check: AuditCheck
    name: str
    counter: str | None
    balance: int
    total: int


def balance_problem(system_id: str, balance: int, journal_sum: int) -> AuditProblem:
    """Describe a customer account that fails (a): balance != entries, or negative."""
    problems = []
    if balance != journal_sum:
        problems.append(f"balance {balance} != journal sum {journal_sum}")
    if balance < 0:
        problems.append(f"negative balance {balance}")
    return AuditProblem(system_id, balance, journal_sum, "; ".join(problems))


def _describe(row: AuditRow) -> AuditProblem:
    if row.check is AuditCheck.BALANCE:
        return balance_problem(row.name, row.balance, row.total)
    if row.check is AuditCheck.HOUSE_BALANCE:
        detail = f"house balance {row.balance} != minus the entries naming it, {row.total}"
    elif row.check is AuditCheck.ZERO_SUM:
        detail = f"all balances sum to {row.balance}, not 0"
    elif row.check is AuditCheck.PAIR:
        detail = (
            f"entries of {row.name} naming {row.counter} sum to {row.balance},"
            f" those of {row.counter} naming {row.name} to {-row.total}: not opposite"
        )
    elif row.check is AuditCheck.PACKAGE:
        detail = f"package remaining {row.balance} != its package journal sum {row.total}"
    else:
        detail = f"{row.balance} in entries naming {row.counter!r}, which is no counter-account"
    return AuditProblem(row.name, row.balance, row.total, detail, row.check, row.counter)


def audit_problems(rows: Iterable[AuditRow]) -> list[AuditProblem]:
    """The audit's answer: one problem per failed check, in a stable order.

    A broken pair is reported once (the statement finds it from both sides).
    """
    order = list(AuditCheck)
    seen_pairs: set[tuple[str, str]] = set()
    out: list[AuditProblem] = []
    for row in sorted(rows, key=lambda r: (order.index(r.check), r.name, r.counter or "")):
        if row.check is AuditCheck.PAIR:
            pair = (min(row.name, row.counter or ""), max(row.name, row.counter or ""))
            if pair in seen_pairs:
                continue
            seen_pairs.add(pair)
        out.append(_describe(row))
    return out
