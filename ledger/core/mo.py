"""Messages from handsets (MO): which account owns a number or keyword, and the MOs kept
for the account's receivers, claimed by one gateway at a time like receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from ledger.backends import rows
from ledger.backends import statements_mo as sql
from ledger.backends.base import Access, Execute, Fetch, Script, do
from ledger.core.base import CoreBase
from ledger.errors import UnknownAccount
from ledger.models import MoRoute, NewMo, PendingMo
from ledger.rules.mo import keyword_of, mo_route, owner_of
from ledger.rules.validation import require_gateway_id, validate_receipt_ids


def _set_route(system_id: str, kind: str, value: str) -> Script[None]:
    if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    yield from do(Execute(sql.SET_MO_ROUTE, (kind, value, system_id)))


def _add(items: list[NewMo], now: datetime, until: datetime) -> Script[list[int]]:
    ids: list[int] = []
    for item in items:
        if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (item.system_id,), rows.first))):
            raise UnknownAccount(item.system_id)  # raising rolls the batch back
        claimed = until if item.claimed_by is not None else None
        args = (
            item.system_id,
            item.upstream,
            item.source_addr,
            item.destination_addr,
            bytes(item.pdu_body),
            now,
            item.claimed_by,
            claimed,
        )
        [new_id] = yield from do(Fetch(sql.INSERT_MO, args, rows.first))
        ids.append(new_id)
    return ids


class MoCore(CoreBase):
    """``MoStore`` over a backend."""

    async def set_mo_route(self, system_id: str, *, number: str = "", keyword: str = "") -> MoRoute:
        """The account owns MOs to ``number`` (or starting with ``keyword``) from now on,
        taking it from any other account. Raises InvalidRequest, UnknownAccount."""
        kind, value = mo_route(number=number, keyword=keyword)
        await self._run(partial(_set_route, system_id, kind, value), Access.TRANSACTION)
        return MoRoute(kind, value, system_id)

    async def delete_mo_route(self, *, number: str = "", keyword: str = "") -> bool:
        """Nobody owns that number (or keyword) any more; False if nobody did."""
        kind, value = mo_route(number=number, keyword=keyword)
        return bool(await self._statement(Execute(sql.DELETE_MO_ROUTE, (kind, value))))

    async def mo_routes(self, system_id: str | None = None) -> list[MoRoute]:
        """Every number and keyword owned (by ``system_id``, or by anyone)."""
        return await self._read(Fetch(sql.MO_ROUTES, (system_id,), rows.mo_route))

    async def mo_owner(self, destination: str, text: bytes | str) -> str | None:
        """The account an MO to ``destination`` saying ``text`` goes to, or None."""
        found = await self._read(
            Fetch(sql.MO_OWNER, (destination.removeprefix("+"), keyword_of(text)), rows.pair)
        )
        return owner_of(found)

    async def add_mo(self, items: Sequence[NewMo], *, lease: float = 60.0) -> list[int]:
        """Keep MOs until a receiver acknowledges them; their ids, in order. One
        transaction; an unknown account writes nothing (UnknownAccount)."""
        items = list(items)
        if not items:
            return []
        now = self._now()
        until = now + timedelta(seconds=lease)
        return await self._run(partial(_add, items, now, until), Access.TRANSACTION)

    async def claim_mo(
        self,
        system_id: str,
        *,
        gateway_id: str,
        max_age: float,
        limit: int = 100,
        lease: float = 60.0,
    ) -> list[PendingMo]:
        """Claim up to ``limit`` undelivered MOs of the account younger than ``max_age``
        seconds, for ``lease`` seconds: unclaimed or claim run out, oldest first; two
        claimers never get the same one. Older ones are never delivered (the age limit)."""
        require_gateway_id(gateway_id, "a claim")
        now = self._now()
        args = (
            system_id,
            gateway_id,
            now,
            now + timedelta(seconds=lease),
            now - timedelta(seconds=max_age),
            limit,
        )
        found = await self._statement(Fetch(sql.CLAIM_MO, args, rows.mo))
        return sorted(found, key=lambda m: m.id)

    async def mo_delivered(self, mo_ids: Sequence[int]) -> None:
        """The receiver acknowledged these MOs; they never come back. Idempotent."""
        ids = validate_receipt_ids(mo_ids)
        if ids:
            await self._statement(Execute(sql.MO_DELIVERED, (ids, self._now())))

    async def release_mo(self, mo_ids: Sequence[int]) -> None:
        """Drop the claims (the push failed) so any gateway may claim them again."""
        ids = validate_receipt_ids(mo_ids)
        if ids:
            await self._statement(Execute(sql.RELEASE_MO, (ids,)))

    async def pending_mo(self, system_id: str, *, limit: int = 1000) -> list[PendingMo]:
        """MOs not yet acknowledged, claimed or not, oldest first (tests, operators)."""
        return await self._read(Fetch(sql.PENDING_MO, (system_id, limit), rows.mo))
