"""MO ownership actions: the numbers and keywords whose messages from handsets an account
receives (``ledger.rules.mo`` has the rules; ``gateway.delivery.mo`` the delivery)."""

from __future__ import annotations

from gateway.admin.errors import NotFound, action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models.mo import MoRoute
from ledger.store import Store


@action
async def add_mo_route(
    store: Store, system_id: str, *, number: str = "", keyword: str = "", scope: Scope = ADMIN
) -> MoRoute:
    """The account receives MOs to ``number`` (or starting with ``keyword``), taking it
    from the account that had it."""
    await check_visible(store, scope, system_id)
    return await store.set_mo_route(system_id, number=number, keyword=keyword)


@action
async def remove_mo_route(
    store: Store, system_id: str, *, number: str = "", keyword: str = "", scope: Scope = ADMIN
) -> list[MoRoute]:
    """The account stops receiving MOs to ``number`` (or ``keyword``); its routes after.

    Refused (NotFound) when the account does not own it.
    """
    await visible_account(store, scope, system_id)
    owned = await store.mo_routes(system_id)
    wanted = {r.value for r in owned if r.kind == ("number" if number else "keyword")}
    value = number.removeprefix("+") if number else keyword.strip().upper()
    if value not in wanted:
        raise NotFound(f"{system_id} owns no {'number' if number else 'keyword'} {value}")
    await store.delete_mo_route(number=number, keyword=keyword)
    return await store.mo_routes(system_id)


@action
async def mo_routes(store: Store, system_id: str, *, scope: Scope = ADMIN) -> list[MoRoute]:
    """The numbers and keywords the account receives MOs for. Raises AccountNotFound."""
    await visible_account(store, scope, system_id)
    return await store.mo_routes(system_id)
