"""Low-balance alert actions: set, show, clear an account's alert.

The rule (when an alert fires and re-arms) is the ledger's (``ledger.rules.alerts``);
the mails go out from each gateway's alert task (:mod:`gateway.mail.alerts`). Thresholds
are in milli-credits here, as every amount of the service layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.admin.errors import action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models import Account, Category
from ledger.models.notices import BalanceAlert
from ledger.store import Store


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """An account's low-balance alerts, and the account they watch (for its contact)."""

    account: Account
    alerts: tuple[BalanceAlert, ...]


@dataclass(frozen=True, slots=True)
class AlertCleared:
    """The outcome of ``alert clear``: ``cleared`` False when there was no such alert."""

    system_id: str
    category: Category | None
    cleared: bool


def _watchable(category: Category | None) -> str | None:
    """The category the ledger stores (None: the credit balance).

    A package category's balance is the messages its packages hold (``below`` is then a
    number of messages, in thousandths like credits).
    """
    return None if category is None else Category(category).value


@action
async def set_alert(
    store: Store,
    system_id: str,
    *,
    below: int,
    category: Category | None = None,
    scope: Scope = ADMIN,
) -> BalanceAlert:
    """Mail the account's contact once each time its balance falls below ``below``.

    Replaces the account's alert on that balance; it starts from the balance now
    (armed if at or above ``below``). Refusals: an unknown account, ``below`` <= 0 or
    beyond ``[ledger] max_balance``. With ``category`` it watches the messages left in
    the account's packages of that category.
    """
    cat = _watchable(category)
    await check_visible(store, scope, system_id)
    return await store.set_alert(system_id, below, category=cat)


@action
async def show_alerts(store: Store, system_id: str, *, scope: Scope = ADMIN) -> AlertSettings:
    """The account's alerts (none: an empty tuple)."""
    account = await visible_account(store, scope, system_id)
    return AlertSettings(account, tuple(await store.alerts(system_id)))


@action
async def clear_alert(
    store: Store, system_id: str, *, category: Category | None = None, scope: Scope = ADMIN
) -> AlertCleared:
    """Remove the account's alert on a balance; clearing none is not an error.

    An alert already fired and queued is still mailed.
    """
    await check_visible(store, scope, system_id)
    cleared = await store.clear_alert(
        system_id, category=Category(category).value if category else None
    )
    return AlertCleared(system_id, category, cleared)
