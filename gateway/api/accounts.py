"""``/sms/...``: the accounts a token sees, shaped like the operator's API.

Each route parses its input with :mod:`gateway.admin.inputs`, calls one action of
:mod:`gateway.admin` with the token's scope, and returns the service layer's view of the
result (:mod:`gateway.admin.views`, whose TypedDicts are the OpenAPI schemas). Nothing
here decides anything; refusals are the actions' and their status is mapped in
:mod:`gateway.api.errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from gateway import admin
from gateway.admin import InvalidAmount, InvalidInput, inputs, views
from gateway.api.auth import TokenScope
from gateway.api.context import Context
from gateway.api.errors import responses

router = APIRouter(prefix="/sms", tags=["accounts"])

#: ``{account}``: an account's system_id (``smpp-...``).
AccountId = Annotated[str, Path(description="the account's system_id, e.g. smpp-shop")]
#: Credits as a JSON number (``12.5``) or a decimal string (``"12.5"``), 3 decimals at most.
Credits = StrictStr | StrictInt | StrictFloat

#: The errors any route naming an account may answer.
_ACCOUNT_ERRORS = (400, 401, 404, 429, 503)
_ANSWERS = responses(*_ACCOUNT_ERRORS)
#: ``Idempotency-Key``: a retry with the same key and body answers the first result.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1 to 128 visible ASCII characters; a retry with the same key and"
        " body answers the first result and moves nothing more",
    ),
]


class _Body(BaseModel):
    """Request bodies refuse keys they do not know: a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class IpBody(_Body):
    """A network to allow binds from."""

    ip: str = Field(description="an address (/32 or /128) or a CIDR", examples=["203.0.113.0/24"])
    normalise: StrictBool = Field(
        default=False,
        description="store an address with host bits set (10.0.0.5/24) as its network",
    )
    any: StrictBool = Field(
        default=False, description="confirm a catch-all (0.0.0.0/0, ::/0): binds from anywhere"
    )


class SenderBody(_Body):
    """A source address to register."""

    ton: StrictInt = Field(description="1 international, 3 short code, 5 alphanumeric")
    address: str = Field(examples=["MyShop"])
    npi: StrictInt | None = Field(default=None, description="default: from the TON")


class AccountChangesBody(_Body):
    """The settings to change; a field left out (or null) stays as it is.

    ``contact_email``, ``default_category`` and ``client_cert_sha256`` are the owner's;
    ``owner``, ``throughput``, ``max_binds``, ``submit_window`` and ``max_session_age_s``
    need an admin token (403 otherwise), as for ``smppgw account set``.
    """

    contact_email: StrictStr | None = Field(default=None, examples=["ops@shop.example"])
    default_category: StrictStr | None = Field(
        default=None, description="verification, marketing or general"
    )
    owner: StrictStr | None = Field(default=None, description="admin tokens only")
    throughput: StrictInt | None = Field(
        default=None, description="messages per second, 0 = unlimited (admin tokens only)"
    )
    max_binds: StrictInt | None = Field(
        default=None, description="simultaneous binds, at least 1 (admin tokens only)"
    )
    client_cert_sha256: StrictStr | None = Field(
        default=None,
        description="SHA-256 of the TLS client certificate binds must show (hex, colons"
        ' allowed); "" unpins',
    )
    submit_window: StrictInt | None = Field(
        default=None,
        description="submits in progress on one gateway, 0 = no limit, -1 = the gateway's"
        " [server] account_submit_window (admin tokens only)",
    )
    max_session_age_s: StrictInt | None = Field(
        default=None,
        description="seconds before a bound session is unbound, 0 = never, -1 = the"
        " gateway's [server] max_session_age_s (admin tokens only)",
    )


class TransferBody(_Body):
    """Credits to move from the account to another account of the same owner."""

    credits: Credits = Field(description="credits, > 0, 3 decimals at most", examples=[12.5])
    smsAccountTarget: StrictStr = Field(  # the operator's API names it so
        description="the system_id receiving them", examples=["smpp-shop2"]
    )


class RechargeBody(_Body):
    """Auto-recharge: add ``amount`` credits when a debit leaves ``threshold`` or less."""

    threshold: Credits = Field(description="credits, >= 0", examples=["10"])
    amount: Credits = Field(description="credits: 100, 200, 250, 500, 1000, 5000 or 10000")
    daily_cap: StrictInt = Field(default=1, description="recharges per UTC day, at least 1")


def _credits(value: Credits, *, zero: bool = False) -> int:
    text = value if isinstance(value, str) else repr(value)
    return inputs.credits_or_zero(text) if zero else inputs.credits(text)


@router.get("", responses=responses(401, 429, 503))
async def list_accounts(ctx: Context, scope: TokenScope) -> views.AccountsView:
    """The accounts the token sees (every account for an admin token)."""
    return views.accounts_view(await admin.list_accounts(ctx.store, scope=scope))


@router.get("/{account}", responses=_ANSWERS)
async def get_account(
    ctx: Context, scope: TokenScope, account: AccountId
) -> views.AccountDetailsView:
    """Balance, status, contact, owner, auto-recharge, limits and current binds."""
    details = await admin.account_details(ctx.store, account, scope=scope)
    return views.account_details_view(details)


@router.put("/{account}", responses=responses(*_ACCOUNT_ERRORS, 403))
async def update_account(
    ctx: Context, scope: TokenScope, account: AccountId, body: AccountChangesBody
) -> views.AccountView:
    """Change the settings given, in one transaction (``smppgw account set``)."""
    category = None if body.default_category is None else inputs.category(body.default_category)
    changed = await admin.update_account(
        ctx.store,
        account,
        owner=body.owner,
        contact_email=body.contact_email,
        default_category=category,
        throughput=body.throughput,
        max_binds=body.max_binds,
        client_cert_sha256=body.client_cert_sha256,
        submit_window=body.submit_window,
        max_session_age_s=body.max_session_age_s,
        scope=scope,
    )
    return views.account_view(changed)


@router.get("/{account}/ips", responses=_ANSWERS)
async def list_ips(ctx: Context, scope: TokenScope, account: AccountId) -> views.AllowlistView:
    """The networks binds are allowed from."""
    return views.allowlist_view(await admin.show_account(ctx.store, account, scope=scope))


@router.post("/{account}/ips", status_code=201, responses=_ANSWERS)
async def allow_ip(
    ctx: Context, scope: TokenScope, account: AccountId, body: IpBody
) -> views.AllowlistView:
    """Allow binds from a network (again: no change).

    An address with host bits set is refused (400, naming the network it would mean)
    unless ``normalise``; a catch-all unless ``any``.
    """
    changed = await admin.allow_ip(
        ctx.store,
        account,
        body.ip,
        normalise=body.normalise,
        allow_any=body.any,
        options=inputs.API_OPTIONS,
        scope=scope,
    )
    return views.allowlist_view(changed)


@router.delete("/{account}/ips", responses=_ANSWERS)
async def deny_ip(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    ip: Annotated[str, Query(description="the network to remove, as listed")],
) -> views.AllowlistView:
    """Stop allowing binds from a network; refused (400) when it is not listed."""
    changed = await admin.deny_ip(ctx.store, account, inputs.cidr(ip), scope=scope)
    return views.allowlist_view(changed)


@router.get("/{account}/senders", responses=_ANSWERS)
async def list_senders(ctx: Context, scope: TokenScope, account: AccountId) -> views.SendersView:
    """The source addresses the account may submit from."""
    return views.senders_view(await admin.show_account(ctx.store, account, scope=scope))


@router.post("/{account}/senders", status_code=201, responses=_ANSWERS)
async def add_sender(
    ctx: Context, scope: TokenScope, account: AccountId, body: SenderBody
) -> views.SendersView:
    """Register a source address (again: no change)."""
    sender = inputs.sender(body.ton, body.address, body.npi)
    return views.senders_view(await admin.add_sender(ctx.store, account, sender, scope=scope))


@router.delete("/{account}/senders", responses=_ANSWERS)
async def remove_sender(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    ton: Annotated[int, Query(description="the sender's TON")],
    address: Annotated[str, Query(description="the sender's address")],
) -> views.SendersView:
    """Unregister the sender with this TON and address (whatever its NPI)."""
    sender = inputs.sender(ton, address)
    return views.senders_view(await admin.remove_sender(ctx.store, account, sender, scope=scope))


@router.post("/{account}/password", responses=responses(*_ACCOUNT_ERRORS, 422))
async def reset_password(
    ctx: Context, scope: TokenScope, account: AccountId
) -> views.PasswordResetView:
    """A new random password, mailed to the account's contact; says where it went.

    Never returns the password: without outbound mail configured it is refused (422).
    """
    reset = await admin.reset_password(ctx.store, account, ctx.mailer, scope=scope)
    return views.password_reset_view(reset)


@router.post("/{account}/transferCredits", responses=responses(*_ACCOUNT_ERRORS, 409, 422))
async def transfer_credits(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    body: TransferBody,
    idempotency_key: IdempotencyKey = None,
) -> views.TransferView:
    """Move credits to another account of the same owner: both sides or neither.

    409 ``insufficient_credit`` beyond the balance, 409 ``idempotency_conflict`` for a
    key used with another body; 422 for accounts of different owners, one account,
    an inactive one, or an amount no transfer can move.
    """
    try:
        amount = _credits(body.credits)
    except InvalidInput as e:  # well typed but not an amount: the transfer rule refuses it
        raise InvalidAmount(str(e)) from None
    key = None
    if idempotency_key is not None:
        key = f"api:transfer:{account}:{inputs.client_key(idempotency_key)}"
    moved = await admin.transfer(
        ctx.store, account, body.smsAccountTarget, amount, key=key, origin="api", scope=scope
    )
    return views.transfer_view(moved)


@router.get("/{account}/journal", responses=_ANSWERS)
async def journal(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    limit: Annotated[int, Query(ge=1, le=1000, description="entries per page")] = 20,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_before of the previous page")
    ] = None,
) -> views.JournalPageView:
    """The balance and journal entries, newest first, a page at a time."""
    shown = await admin.statement(ctx.store, account, limit=limit, before=before, scope=scope)
    return views.journal_page_view(shown)


@router.put("/{account}/recharge", responses=responses(*_ACCOUNT_ERRORS, 422))
async def set_recharge(
    ctx: Context, scope: TokenScope, account: AccountId, body: RechargeBody
) -> views.RechargeSettingView:
    """Turn auto-recharge on, or change it."""
    changed = await admin.set_recharge(
        ctx.store,
        account,
        threshold=_credits(body.threshold, zero=True),
        amount=_credits(body.amount),
        daily_cap=body.daily_cap,
        scope=scope,
    )
    return views.recharge_setting_view(changed)


@router.delete("/{account}/recharge", responses=_ANSWERS)
async def recharge_off(
    ctx: Context, scope: TokenScope, account: AccountId
) -> views.RechargeSettingView:
    """Turn auto-recharge off."""
    return views.recharge_setting_view(await admin.recharge_off(ctx.store, account, scope=scope))
