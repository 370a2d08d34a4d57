"""Messages from handsets (MO): which account owns a number or keyword, and the MOs kept
for the account's receivers, claimed by one gateway at a time like receipts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from ledger.backends import rows
from ledger.backends import statements_mo as sql
from ledger.backends.base import Access, Execute, Fetch, LockAccounts, Script, do
from ledger.core.base import CoreBase
from ledger.core.money import movement
from ledger.errors import InvalidRequest, UnknownAccount
from ledger.models.mo import MoRoute, NewMo, PendingMo, StoredMo
from ledger.rules.mo import keyword_of, mo_route, owner_of
from ledger.rules.mo_pricing import MoCharge, MoCharges
from ledger.rules.validation import require_gateway_id, validate_receipt_ids
from ledger.store import MO_CHANNEL


def _set_route(system_id: str, kind: str, value: str) -> Script[None]:
    if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    yield from do(Execute(sql.SET_MO_ROUTE, (kind, value, system_id)))


def _add(
    items: list[NewMo], now: datetime, until: datetime, retried_after: datetime | None
) -> Script[list[StoredMo]]:
    priced = sorted({item.system_id for item in items if item.price > 0})
    if priced:
        # Lock the payers before the inserts: an insert takes a share lock on its
        # account's row (its foreign key) that the debit would have to upgrade.
        yield from do(LockAccounts(priced))
    stored: list[StoredMo] = []
    charges: list[tuple[int, MoCharge]] = []
    unclaimed: set[str] = set()
    for item in items:
        if not (yield from do(Fetch(sql.ACCOUNT_EXISTS, (item.system_id,), rows.first))):
            raise UnknownAccount(item.system_id)  # raising rolls the batch back
        body = bytes(item.pdu_body)
        if retried_after is not None:
            key = (item.system_id, item.upstream, item.source_addr, item.destination_addr)
            retry = (*key, body, retried_after)
            first = yield from do(Fetch(sql.FIND_MO_RETRY, retry, rows.first))
            if first:
                stored.append(StoredMo(first[0], retried=True))
                continue
        claimed = until if item.claimed_by is not None else None
        args = (
            item.system_id,
            item.upstream,
            item.source_addr,
            item.destination_addr,
            body,
            now,
            item.claimed_by,
            claimed,
        )
        [new_id] = yield from do(Fetch(sql.INSERT_MO, args, rows.first))
        if item.claimed_by is None:
            unclaimed.add(item.system_id)
        if item.price > 0:
            charges.append((len(stored), MoCharge(item.system_id, new_id, item.price)))
        stored.append(StoredMo(new_id))
    if charges:
        plan, _ = yield from movement(MoCharges(tuple(c for _, c in charges)), now)
        for (index, charge), reason in zip(charges, plan.resolve([], now), strict=True):
            paid = 0 if reason else charge.price
            stored[index] = StoredMo(charge.mo_id, charged=paid, unpriced=reason)
    for system_id in sorted(unclaimed):  # once per account per transaction
        yield from do(Fetch(sql.NOTIFY_MO, (system_id,), rows.first))
    return stored


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
        return [s.id for s in await self.store_mo(items, lease=lease)]

    async def store_mo(
        self, items: Sequence[NewMo], *, lease: float = 60.0, retry_window: float = 0.0
    ) -> list[StoredMo]:
        """Keep MOs until a receiver acknowledges them and debit their ``price``, in ONE
        transaction; what was done with each, in order.

        An item repeating one stored less than ``retry_window`` seconds ago (same
        account, upstream, addresses and body: the upstream sent the deliver_sm again)
        writes and charges nothing and names the first. A priced MO its account cannot
        pay is stored unpriced (``ledger.rules.mo_pricing``). An unknown account writes
        nothing (UnknownAccount); a negative price or window, InvalidRequest.
        """
        items = list(items)
        if not items:
            return []
        if retry_window < 0 or any(item.price < 0 for item in items):
            raise InvalidRequest("an MO's price and the retry window cannot be negative")
        now = self._now()
        until = now + timedelta(seconds=lease)
        after = now - timedelta(seconds=retry_window) if retry_window > 0 else None
        return await self._run(partial(_add, items, now, until, after), Access.TRANSACTION)

    async def listen_mo(
        self, callback: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback(system_id)`` whenever a process stores unclaimed MOs of the
        account (PostgreSQL NOTIFY; returns ``stop()``). SQLite: None."""
        return await self._db.listen(callback, MO_CHANNEL)

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
