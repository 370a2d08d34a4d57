"""What money movements read and write of credit packages, inside their transaction.

The money script (``ledger.core.money.movement``) calls :func:`load_packages` after it
has locked the accounts, when the movement's load names packages, and
:func:`write_packages` after the plan's journal, when the plan changed packages: both
only for accounts that have packages (``AccountState.has_packages``), so the debit of
an account without any costs one ``EXISTS`` probe in the lock and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from ledger.backends import package_sql as psql
from ledger.backends import rows
from ledger.backends.base import ExecuteMany, Fetch, LookUp, Script, do
from ledger.rules.packages import Draw, PackageState
from ledger.rules.planning import (
    AccountState,
    Loaded,
    PackageLoad,
    Plan,
    StoredEntry,
    StoredMessage,
)


@dataclass(frozen=True, slots=True)
class PackagesRead:
    """What :func:`load_packages` read: packages by id, draws by message, stored keys."""

    packages: dict[str, PackageState]
    draws: dict[str, tuple[Draw, ...]]
    entries: dict[str, StoredEntry]


def load_packages(
    pk: PackageLoad,
    accounts: Mapping[str, AccountState],
    message_ids: Collection[str],
    entries: Mapping[str, StoredEntry],
    messages: Mapping[str, StoredMessage],
) -> Script[PackagesRead]:
    """Read, under the accounts' locks, what ``pk`` names; the keys it names too."""
    packages: dict[str, PackageState] = {}
    draws: dict[str, tuple[Draw, ...]] = {}
    if pk.holders:
        holders = sorted(s for s, a in accounts.items() if a.has_packages)
        if holders:
            found = yield from do(Fetch(psql.OPEN_PACKAGES, (holders,), rows.package_state))
            packages.update((p.package_id, p) for p in found)
    if pk.draws and message_ids:
        grouped: dict[str, list[Draw]] = {}
        for mid, d in (yield from do(Fetch(psql.DRAWS, (list(message_ids),), rows.draw))):
            grouped.setdefault(mid, []).append(d)
        draws = {mid: tuple(ds) for mid, ds in grouped.items()}
        named = sorted({d.source for ds in draws.values() for d in ds if not d.is_credits})
        if named:
            found = yield from do(Fetch(psql.PACKAGES_BY_ID, (named,), rows.package_state))
            packages.update((p.package_id, p) for p in found)
    more: list[str] = []
    if pk.more_keys is not None and (packages or draws or any_holder(accounts)):
        more = list(pk.more_keys(Loaded(accounts, entries, messages, packages, draws)))
    keys = list(dict.fromkeys([*pk.keys, *more]))
    stored: dict[str, StoredEntry] = {}
    if keys:
        found_entries = yield from do(
            Fetch(psql.PACKAGE_ENTRIES_BY_KEY, (keys,), rows.stored_package_entry)
        )
        stored.update((e.entry.idempotency_key, e) for e in found_entries)
    fresh = [k for k in more if k not in entries and k not in stored]
    if fresh:
        # Derived keys must be free in the credit journal too (a client may have picked
        # one for a credit or a transfer): such a key is a conflict, never a crash.
        journal, _ = yield from do(LookUp(fresh, ()))
        stored.update(journal)
    return PackagesRead(packages, draws, stored)


def any_holder(accounts: Mapping[str, AccountState]) -> bool:
    """True when one of the accounts has packages."""
    return any(a.has_packages for a in accounts.values())


def write_packages(plan: Plan[object], now: datetime) -> Script[list[int]]:
    """Write a plan's package changes (after its journal); the package entries' ids."""
    if plan.new_packages:
        yield from do(
            ExecuteMany(
                psql.INSERT_PACKAGE,
                [
                    (
                        p.package_id,
                        p.system_id,
                        p.name,
                        p.category,
                        p.total,
                        p.purchased_at,
                        p.expires_at,
                    )
                    for p in plan.new_packages
                ],
            )
        )
    if plan.packages:
        yield from do(
            ExecuteMany(
                psql.SET_REMAINING, [(pid, p.remaining) for pid, p in plan.packages.items()]
            )
        )
    ids: list[int] = []
    if plan.package_entries:
        payload = json.dumps(
            [
                [
                    e.package_id,
                    e.system_id,
                    e.counter_account,
                    e.kind.value,
                    e.amount,
                    e.balance_after,
                    e.idempotency_key,
                    e.fingerprint,
                    e.message_id,
                    e.note,
                ]
                for e in plan.package_entries
            ]
        )
        found = yield from do(Fetch(psql.INSERT_PACKAGE_ENTRIES, (payload, now), rows.pair))
        by_key = {key: entry_id for entry_id, key in found}
        ids = [by_key[e.idempotency_key] for e in plan.package_entries]
    if plan.draws:
        yield from do(
            ExecuteMany(
                psql.INSERT_DRAW,
                [
                    (mid, seq, d.source, d.amount, d.segments)
                    for mid, ds in plan.draws
                    for seq, d in enumerate(ds)
                ],
            )
        )
    return ids
