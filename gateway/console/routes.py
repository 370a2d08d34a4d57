"""The console's pages and forms.

Pages (GET) render the service layer's results; forms (POST, urlencoded) call one action
each and send the browser back to the page with what happened (POST/redirect/GET, so a
reload never repeats an action). A refusal is the action's own message, shown on the
page with the HTTP status the JSON API would answer. Nothing here decides anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from gateway import admin
from gateway.admin import AdminError, InvalidInput, NotAuthenticated, Scope, inputs
from gateway.api.context import ApiContext, Context
from gateway.api.errors import status_of
from gateway.console.chart import usage_svg
from gateway.console.session import (
    PREFIX,
    LoginRequired,
    client_address,
    forget,
    form_token,
    form_token_ok,
    logged_in,
    remember,
)
from ledger.models import Category, MessageState, milli_to_credits

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.filters["credits"] = milli_to_credits
templates.env.filters["when"] = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")

#: The console's pages; kept out of the OpenAPI description (they answer HTML, not JSON).
router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: Journal entries an account page shows.
JOURNAL_ROWS = 20
#: Messages a history page shows.
HISTORY_ROWS = 50
#: Purchase records a package page shows.
PACKAGE_ROWS = 20


def static_files() -> StaticFiles:
    """The console's stylesheet and script, served under ``/console/static``."""
    return StaticFiles(directory=_HERE / "static")


def _to_login() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/login", status_code=303)


def _page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, values, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded body, one value per field (the last one given)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1].strip() for k, v in parse_qs(body, keep_blank_values=True).items()}


def _back(account: str, *, notice: str = "", error: str = "", page: str = "") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    where = f"{PREFIX}/accounts/{account}" + (f"/{page}" if page else "")
    return RedirectResponse(f"{where}?{query}", status_code=303)


# -- log-in -----------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    """The log-in form: paste a token from ``smppgw token create``."""
    return _page(request, "login.html", error=request.query_params.get("error", ""))


@router.post("/login", response_model=None)
async def login(request: Request, ctx: Context) -> Response:
    """Check the token as the API would (failures rate limited) and keep it in a cookie."""
    address = client_address(request)
    wait = ctx.limiter.blocked_for(address)
    if wait:
        return _page(request, "login.html", 429, error=f"too many failed attempts: wait {wait} s")
    secret = (await _form(request)).get("token", "")
    try:
        await admin.authenticate(ctx.store, secret)
    except NotAuthenticated:
        ctx.limiter.failed(address)
        return _page(request, "login.html", 401, error="unknown or revoked token")
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    remember(response, secret, secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout() -> RedirectResponse:
    """Forget the browser's log-in."""
    response = _to_login()
    forget(response)
    return response


# -- pages ------------------------------------------------------------------------------


@router.get("/", response_model=None)
async def accounts_page(request: Request, ctx: Context) -> Response:
    """The accounts the token sees, with their balances."""
    try:
        scope, secret = await logged_in(request, ctx)
    except LoginRequired:
        return _to_login()
    accounts = await admin.list_accounts(ctx.store, scope=scope)
    return _page(request, "accounts.html", accounts=accounts, scope=scope, csrf=form_token(secret))


@router.get("/accounts/{account}", response_model=None)
async def account_page(request: Request, ctx: Context, account: str) -> Response:
    """One account: credentials, balance, auto-recharge, transfers, low-balance alerts,
    allowed IPs, senders."""
    try:
        scope, secret = await logged_in(request, ctx)
    except LoginRequired:
        return _to_login()
    try:
        details = await admin.account_details(ctx.store, account, scope=scope)
        shown = await admin.statement(ctx.store, account, limit=JOURNAL_ROWS, scope=scope)
        alerts = await admin.show_alerts(ctx.store, account, scope=scope)
        siblings = [
            a
            for a in await admin.list_accounts(ctx.store, scope=scope)
            if a.owner == details.account.owner and a.system_id != account
        ]
    except AdminError as e:
        return _page(request, "error.html", status_of(e), error=str(e), scope=scope)
    return _page(
        request,
        "account.html",
        details=details,
        account=details.account,
        entries=shown.entries,
        alerts=alerts.alerts,
        siblings=siblings,
        scope=scope,
        csrf=form_token(secret),
        # A transfer form's key: submitting the same form twice moves credits once.
        transfer_key=secrets.token_hex(8),
        notice=request.query_params.get("notice", ""),
        error=request.query_params.get("error", ""),
    )


@router.get("/accounts/{account}/history", response_model=None)
async def history_page(request: Request, ctx: Context, account: str) -> Response:
    """The account's messages, newest first, with the CLI's filters and paging."""
    try:
        scope, secret = await logged_in(request, ctx)
    except LoginRequired:
        return _to_login()
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("since", "until", "dest", "state")}
    try:
        await admin.show_account(ctx.store, account, scope=scope)
        state = None
        if filters["state"]:
            try:
                state = MessageState(filters["state"])
            except ValueError:
                raise InvalidInput(f"state: not one of {', '.join(MessageState)}") from None
        page = await admin.history(
            ctx.store,
            account,
            since=inputs.moment(filters["since"]) if filters["since"] else None,
            until=inputs.moment(filters["until"]) if filters["until"] else None,
            dest_prefix=inputs.destination_prefix(filters["dest"]) if filters["dest"] else "",
            state=state,
            limit=HISTORY_ROWS,
            before=q.get("before") or None,
        )
    except AdminError as e:
        status = status_of(e)
        if status == 404:
            return _page(request, "error.html", status, error=str(e), scope=scope)
        page, error = None, str(e)
    else:
        error = ""
    older = None
    if page is not None and page.next_before is not None:
        older = urlencode({**{k: v for k, v in filters.items() if v}, "before": page.next_before})
    return _page(
        request,
        "history.html",
        200 if not error else 400,
        account=account,
        page=page,
        filters=filters,
        older=older,
        states=list(MessageState),
        error=error,
        scope=scope,
        csrf=form_token(secret),
    )


@router.get("/accounts/{account}/packages", response_model=None)
async def packages_page(request: Request, ctx: Context, account: str) -> Response:
    """The package page: remaining per category, alert settings, purchase records."""
    try:
        scope, secret = await logged_in(request, ctx)
    except LoginRequired:
        return _to_login()
    try:
        listing = await admin.list_packages(
            ctx.store,
            account,
            limit=PACKAGE_ROWS,
            before=request.query_params.get("before"),
            scope=scope,
        )
        alerts = await admin.show_alerts(ctx.store, account, scope=scope)
    except AdminError as e:
        return _page(request, "error.html", status_of(e), error=str(e), scope=scope)
    return _page(
        request,
        "packages.html",
        account=listing.account,
        listing=listing,
        alerts=alerts.alerts,
        categories=list(Category),
        scope=scope,
        csrf=form_token(secret),
        # A purchase form's key: submitting the same form twice buys once.
        purchase_key=secrets.token_hex(8),
        notice=request.query_params.get("notice", ""),
        error=request.query_params.get("error", ""),
    )


@router.get("/accounts/{account}/usage", response_model=None)
async def usage_page(request: Request, ctx: Context, account: str) -> Response:
    """The account's messages and credits per day over the last 30 days: chart and table."""
    try:
        scope, _secret = await logged_in(request, ctx)
    except LoginRequired:
        return _to_login()
    try:
        days = await admin.daily_usage(ctx.store, account, scope=scope)
    except AdminError as e:
        return _page(request, "error.html", status_of(e), error=str(e), scope=scope)
    return _page(
        request,
        "usage.html",
        account=account,
        days=days,
        chart=Markup(usage_svg(days)),  # noqa: S704 — built from numbers and dates, escaped
        total_messages=sum(d.messages for d in days),
        total_cost=sum(d.cost for d in days),
        scope=scope,
    )


# -- forms ------------------------------------------------------------------------------

#: A form's action: given the store, account, form fields and scope, a notice to show.
FormAction = Callable[[ApiContext, str, dict[str, str], Scope], Awaitable[str]]


async def _allow_ip(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    cidr = inputs.cidr(f.get("ip", ""))
    await admin.allow_ip(ctx.store, account, cidr, scope=scope)
    return f"binds allowed from {cidr}"


async def _deny_ip(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    cidr = inputs.cidr(f.get("ip", ""))
    await admin.deny_ip(ctx.store, account, cidr, scope=scope)
    return f"{cidr} removed"


def _ton(f: dict[str, str]) -> int:
    try:
        return int(f.get("ton", ""))
    except ValueError:
        raise InvalidInput(
            "ton: a number (1 international, 3 short code, 5 alphanumeric)"
        ) from None


async def _add_sender(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    sender = inputs.sender(_ton(f), f.get("address", ""))
    await admin.add_sender(ctx.store, account, sender, scope=scope)
    return f"sender {sender.address} registered"


async def _remove_sender(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    sender = inputs.sender(_ton(f), f.get("address", ""))
    await admin.remove_sender(ctx.store, account, sender, scope=scope)
    return f"sender {sender.address} removed"


async def _set_recharge(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    try:
        cap = int(f.get("daily_cap", "1") or "1")
    except ValueError:
        raise InvalidInput("daily cap: a whole number, at least 1") from None
    threshold = inputs.credits_or_zero(f.get("threshold", ""))
    amount = inputs.credits(f.get("amount", ""))
    await admin.set_recharge(
        ctx.store, account, threshold=threshold, amount=amount, daily_cap=cap, scope=scope
    )
    return f"auto-recharge: {milli_to_credits(amount)} credits at {milli_to_credits(threshold)}"


async def _recharge_off(ctx: ApiContext, account: str, _f: dict[str, str], scope: Scope) -> str:
    await admin.recharge_off(ctx.store, account, scope=scope)
    return "auto-recharge off"


def _alert_category(f: dict[str, str]) -> Category | None:
    """The form's category; empty: the credit balance."""
    text = f.get("category", "")
    return inputs.category(text) if text else None


async def _set_alert(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    below = inputs.credits(f.get("below", ""))
    category = _alert_category(f)
    await admin.set_alert(ctx.store, account, below=below, category=category, scope=scope)
    if category is not None:
        return (
            f"an alert is mailed when the messages left in the {category.value} packages"
            f" fall below {milli_to_credits(below)} messages"
        )
    return f"an alert is mailed when the balance falls below {milli_to_credits(below)} credits"


async def _clear_alert(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    done = await admin.clear_alert(ctx.store, account, category=_alert_category(f), scope=scope)
    return "alert cleared" if done.cleared else "there was no alert to clear"


async def _transfer(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    target = f.get("target", "")
    amount = inputs.credits(f.get("credits", ""))
    key = f.get("key", "")
    done = await admin.transfer(
        ctx.store,
        account,
        target,
        amount,
        key=f"console:transfer:{account}:{key}" if key else None,
        origin="console",
        scope=scope,
    )
    left = milli_to_credits(done.source_balance)
    return f"{milli_to_credits(amount)} credits sent to {target}; {left} left"


async def _buy_package(ctx: ApiContext, account: str, f: dict[str, str], scope: Scope) -> str:
    category = inputs.category(f.get("category", ""))
    try:
        quantity = int(f.get("quantity", ""))
    except ValueError:
        raise InvalidInput("messages: a whole number, in units of 100") from None
    key = f.get("key", "")
    package = await admin.buy_package(
        ctx.store,
        account,
        category,
        quantity,
        name=f.get("name", ""),
        key=f"console:package:{account}:{key}" if key else None,
        origin="console",
        validity_months=ctx.package_validity_months,
        scope=scope,
    )
    return f"bought {package.package_id}: {quantity} {category.value} messages"


async def _reset_password(ctx: ApiContext, account: str, _f: dict[str, str], scope: Scope) -> str:
    reset = await admin.reset_password(ctx.store, account, ctx.mailer, scope=scope)
    return f"a new password was mailed to {reset.mailed_to}"


#: The console's forms, by the last part of their path.
FORMS: dict[str, FormAction] = {
    "ips": _allow_ip,
    "ips/remove": _deny_ip,
    "senders": _add_sender,
    "senders/remove": _remove_sender,
    "recharge": _set_recharge,
    "recharge/off": _recharge_off,
    "transfer": _transfer,
    "alerts": _set_alert,
    "alerts/clear": _clear_alert,
    "password": _reset_password,
    "packages": _buy_package,
}
#: The page a form goes back to, when it is not the account page.
FORM_PAGES = {"packages": "packages"}


@router.post("/accounts/{account}/{action:path}", response_model=None)
async def account_form(request: Request, ctx: Context, account: str, action: str) -> Response:
    """Run one of :data:`FORMS` on ``account``, then show the account page again."""
    try:
        scope, secret = await logged_in(request, ctx)
    except LoginRequired:
        return _to_login()
    run = FORMS.get(action)
    if run is None:
        return _page(request, "error.html", 404, error=f"no such form: {action}", scope=scope)
    fields = await _form(request)
    if not form_token_ok(secret, fields.get("csrf", "")):
        return _page(
            request, "error.html", 403, error="the form is stale: reload the page", scope=scope
        )
    page = FORM_PAGES.get(action, "")
    try:
        notice = await run(ctx, account, fields, scope)
    except AdminError as e:
        if status_of(e) == 404:
            return _page(request, "error.html", 404, error=str(e), scope=scope)
        return _back(account, error=str(e), page=page)
    return _back(account, notice=notice, page=page)
