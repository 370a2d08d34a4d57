"""Credit package actions: buy a package, list an account's purchase records, show one.

The rules (units of 100 messages, categories, what a message draws from where, expiry)
are the ledger's (``ledger.rules.packages``); quantities here are messages for what a
person types (``quantity``) and milli-messages in every result, as the ledger keeps
them. Every purchase has an idempotency key, like a credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.admin.credits import fresh_key
from gateway.admin.errors import AccountNotFound, InvalidInput, PackageNotFound, action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models import Account, Category, JournalEntry
from ledger.models.packages import Package
from ledger.rules.packages import DEFAULT_VALIDITY_MONTHS
from ledger.store import Store

#: Purchase records a page lists unless told otherwise.
DEFAULT_PACKAGE_LIMIT = 20
#: Entries ``package show`` lists.
PACKAGE_JOURNAL_LIMIT = 50
_CURSOR_SEP = "~"


@dataclass(frozen=True, slots=True)
class PackageListing:
    """An account's purchase records (a page, newest first) and what is left per category.

    ``remaining`` is milli-messages left in valid packages, per category (every
    category, zeros too); ``next_before`` reads the next (older) page, None at the end.
    """

    account: Account
    packages: tuple[Package, ...]
    remaining: dict[str, int]
    next_before: str | None = None


@dataclass(frozen=True, slots=True)
class PackageDetails:
    """One package and its package journal entries, newest first."""

    package: Package
    entries: tuple[JournalEntry, ...]


def package_cursor(p: Package) -> str:
    """The opaque cursor of the page after ``p``."""
    return f"{p.purchased_at.isoformat()}{_CURSOR_SEP}{p.package_id}"


def parse_cursor(text: str) -> tuple[datetime, str]:
    """A cursor back into (purchased_at, package_id); InvalidInput if it is none."""
    at, sep, package_id = text.partition(_CURSOR_SEP)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if not sep or moment is None or moment.tzinfo is None or not package_id.startswith("PKG"):
        raise InvalidInput(f"not a package page cursor: {text!r}")
    return moment, package_id


@action
async def buy_package(
    store: Store,
    system_id: str,
    category: Category | str,
    quantity: int,
    *,
    name: str = "",
    key: str | None = None,
    origin: str = "cli",
    validity_months: int = DEFAULT_VALIDITY_MONTHS,
    scope: Scope = ADMIN,
) -> Package:
    """Buy ``quantity`` messages (units of 100, at least 100) of ``category``.

    Valid ``validity_months`` calendar months (``[packages] validity_months``); without
    ``name`` it is called "1000 verification". Without ``key`` a fresh one is made;
    replaying a key with the same purchase returns the first package (another purchase:
    :class:`KeyReused`). Refused: a bad quantity or category (InvalidInput), an unknown
    account (NotFound), a closed one (AccountInactive).
    """
    await check_visible(store, scope, system_id)
    return await store.buy_package(
        system_id,
        category.value if isinstance(category, Category) else category,
        quantity,
        idempotency_key=key or fresh_key(origin),
        name=name,
        validity_months=validity_months,
    )


@action
async def list_packages(
    store: Store,
    system_id: str,
    *,
    limit: int = DEFAULT_PACKAGE_LIMIT,
    before: str | None = None,
    scope: Scope = ADMIN,
) -> PackageListing:
    """The account's purchase records, newest first, and the remaining per category."""
    if limit < 1:
        raise InvalidInput(f"a page holds at least 1 package, not {limit}")
    account = await visible_account(store, scope, system_id)
    cursor = parse_cursor(before) if before else None
    # One more than asked tells whether an older page exists, without a count.
    found = await store.packages(system_id, limit=limit + 1, before=cursor)
    page = tuple(found[:limit])
    more = package_cursor(page[-1]) if len(found) > limit else None
    return PackageListing(account, page, await store.package_totals(system_id), more)


@action
async def show_package(
    store: Store, package_id: str, *, system_id: str | None = None, scope: Scope = ADMIN
) -> PackageDetails:
    """One package with its entries; another owner's is unknown, as if it did not exist.

    ``system_id``: the account the caller names it under (an API path): that account
    must be visible (else AccountNotFound) and hold the package (else PackageNotFound).
    """
    if system_id is not None:
        await check_visible(store, scope, system_id)
    package = await store.package(package_id)
    try:
        await check_visible(store, scope, package.system_id)
    except AccountNotFound:
        raise PackageNotFound(f"package {package_id}: no such package") from None
    if system_id is not None and package.system_id != system_id:
        raise PackageNotFound(f"package {package_id}: no such package")
    entries = await store.package_journal(package_id, limit=PACKAGE_JOURNAL_LIMIT)
    return PackageDetails(package, tuple(entries))
