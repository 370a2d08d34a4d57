"""Auto-recharge actions: set a policy, turn it off.

Which amounts an account may choose is the ledger's rule (``validate_policy``, applied
by every store); this module only turns its refusal into the operator's message, which
lists the amounts in credits.
"""

from __future__ import annotations

from gateway.admin.errors import RechargeAmountNotAllowed, action
from gateway.admin.scope import ADMIN, Scope, check_visible
from ledger.errors import InvalidAccountData
from ledger.models import RECHARGE_AMOUNTS_CREDITS, Account, RechargePolicy, milli_to_credits
from ledger.rules.validation import validate_policy
from ledger.store import Store


def _amount_refused(amount: int) -> bool:
    """True when the ledger's rule refuses ``amount`` itself (not a threshold or cap).

    The ledger raises one InvalidAccountData for any part of a policy; asking it about
    the amount alone, with a threshold and cap it always accepts, tells which part.
    """
    try:
        validate_policy(RechargePolicy(threshold=0, amount=amount, daily_cap=1))
    except InvalidAccountData:
        return True
    return False


@action
async def set_recharge(
    store: Store,
    system_id: str,
    *,
    threshold: int,
    amount: int,
    daily_cap: int = 1,
    scope: Scope = ADMIN,
) -> Account:
    """Credit ``amount`` when a debit leaves the balance at or below ``threshold``.

    Amounts in milli-credits; at most ``daily_cap`` recharges per UTC day. An amount
    the ledger does not allow is a :class:`RechargeAmountNotAllowed`.
    """
    policy = RechargePolicy(threshold, amount, daily_cap)
    # Checked before the store is asked, so a refused amount is reported as such even
    # for an unknown account, whichever order a store checks in.
    try:
        validate_policy(policy)
    except InvalidAccountData as e:
        if _amount_refused(amount):
            allowed = RECHARGE_AMOUNTS_CREDITS
            raise RechargeAmountNotAllowed(milli_to_credits(amount), allowed) from e
        raise
    await check_visible(store, scope, system_id)
    return await store.set_recharge(system_id, policy)


@action
async def recharge_off(store: Store, system_id: str, *, scope: Scope = ADMIN) -> Account:
    """Turn auto-recharge off."""
    await check_visible(store, scope, system_id)
    return await store.set_recharge(system_id, None)
