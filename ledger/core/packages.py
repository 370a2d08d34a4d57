"""Credit packages over a backend: purchase, the listing, one package, the expiry sweep.

Purchases and write-offs are money movements (``ledger.rules.package_moves``) run by
:meth:`MoneyCore.move`; what a debit or a refund does to packages happens inside those
movements (``ledger.core.package_io``).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from ledger.backends import package_sql as psql
from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Fetch
from ledger.core.money import MoneyCore
from ledger.errors import InvalidRequest, UnknownAccount, UnknownPackage
from ledger.models import Category, JournalEntry
from ledger.models.packages import Package
from ledger.rules.package_moves import ExpireRequest, PurchaseRequest
from ledger.rules.packages import (
    DEFAULT_VALIDITY_MONTHS,
    PackageState,
    add_months,
    default_name,
    package_status,
    remaining_by_category,
    validate_purchase,
)

#: Alphabet of the random part of a package id (Crockford's base32: no I, L, O, U).
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Random characters after "PKG": 60 bits, no collision in any real number of packages.
_ID_LENGTH = 12
#: Accounts one sweep round writes off at most (each one transaction).
SWEEP_ACCOUNTS = 200


def new_package_id() -> str:
    """A fresh package id: ``PKG`` and 12 characters of Crockford base32."""
    return "PKG" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def _package(state: PackageState, name: str, now: datetime) -> Package:
    return Package(
        package_id=state.package_id,
        system_id=state.system_id,
        name=name,
        category=Category(state.category),
        total=state.total,
        remaining=state.remaining,
        purchased_at=state.purchased_at,
        expires_at=state.expires_at,
        status=package_status(state.remaining, state.expires_at, now),
    )


class PackagesCore(MoneyCore):
    """``PackageStore`` over a backend: buy, list, show, sweep."""

    async def buy_package(
        self,
        system_id: str,
        category: str,
        quantity: int,
        *,
        idempotency_key: str,
        name: str = "",
        validity_months: int = DEFAULT_VALIDITY_MONTHS,
    ) -> Package:
        """Buy ``quantity`` messages (a multiple of 100, at least 100) of ``category``.

        Valid ``validity_months`` calendar months from now; issued from
        ``house:packages``; replaying the key returns the first package. Raises
        InvalidRequest (quantity, category, name, months, no key), UnknownAccount,
        AccountClosed, IdempotencyConflict.
        """
        cat, total = validate_purchase(category, quantity, name)
        if not idempotency_key:
            raise InvalidRequest("a purchase needs an idempotency key")
        now = self._now()
        expires = add_months(now, validity_months)
        request = PurchaseRequest(
            system_id,
            new_package_id(),
            name or default_name(cat, quantity),
            cat.value,
            total,
            expires,
            idempotency_key,
        )
        package_id = await self.move(request)
        return await self.package(package_id)

    async def package(self, package_id: str) -> Package:
        """One package as of now. Raises UnknownPackage."""
        found = await self._read(Fetch(psql.PACKAGE, (package_id,), rows.package_row))
        if not found:
            raise UnknownPackage(f"package {package_id}: no such package")
        state, name = found[0]
        return _package(state, name, self._now())

    async def packages(
        self, system_id: str, *, limit: int = 50, before: tuple[datetime, str] | None = None
    ) -> list[Package]:
        """An account's packages, newest purchase first, those purchased before
        ``before`` (purchased_at, package_id of the last of the previous page)."""
        await self._known(system_id)
        at, pid = before if before is not None else (None, "")
        found = await self._read(
            Fetch(psql.PACKAGES_PAGE, (system_id, at, pid, limit), rows.package_row)
        )
        now = self._now()
        return [_package(s, n, now) for s, n in found]

    async def package_totals(self, system_id: str) -> dict[str, int]:
        """Milli-messages left in valid packages per category (every category)."""
        await self._known(system_id)
        found = await self._read(Fetch(psql.ACCOUNT_PACKAGES, (system_id,), rows.package_row))
        now = self._now()
        return remaining_by_category(
            (s.category, s.remaining, package_status(s.remaining, s.expires_at, now))
            for s, _ in found
        )

    async def package_journal(self, package_id: str, *, limit: int = 100) -> list[JournalEntry]:
        """A package's entries, newest first."""
        await self.package(package_id)
        return await self._read(
            Fetch(psql.PACKAGE_JOURNAL, (package_id, limit), rows.package_entry)
        )

    async def expire_packages(self, *, limit: int = SWEEP_ACCOUNTS) -> list[tuple[str, str, int]]:
        """Write off what is left of every package expired now, one transaction per
        account, each remainder by its own entry; (system_id, package_id, amount) each."""
        now = self._now()
        holders = await self._read(Fetch(psql.EXPIRED_HOLDERS, (now, limit), rows.first))
        done: list[tuple[str, str, int]] = []
        for system_id in holders:
            done.extend(await self.move(ExpireRequest(system_id)))
        return done

    async def _known(self, system_id: str) -> None:
        """Raise UnknownAccount unless ``system_id`` exists."""
        found = await self._read(Fetch(sql.ACCOUNT_EXISTS, (system_id,), rows.first))
        if not found:
            raise UnknownAccount(system_id)
