"""Sender actions: the source addresses an account may submit from."""

from __future__ import annotations

from gateway.admin.errors import action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models import Account, Sender
from ledger.store import Store


@action
async def add_sender(
    store: Store, system_id: str, sender: Sender, *, scope: Scope = ADMIN
) -> Account:
    """Register a source address (again: no change)."""
    await check_visible(store, scope, system_id)
    return await store.add_sender(system_id, sender)


@action
async def remove_sender(
    store: Store, system_id: str, sender: Sender, *, scope: Scope = ADMIN
) -> Account:
    """Unregister the sender with ``sender``'s TON and address, whatever its NPI.

    Submits match on TON and address, so that is what names a sender: the operator need
    not repeat the NPI it was registered with. Refused when no sender matches.
    """
    account = await visible_account(store, scope, system_id)
    registered = next(
        (s for s in account.senders if (s.ton, s.address) == (sender.ton, sender.address)),
        sender,
    )
    return await store.remove_sender(system_id, registered)
