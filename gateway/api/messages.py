"""``/sms/{account}/outgoing``, ``/usage`` and ``/jobs``: an account's messages.

``outgoing`` is the history of ``smppgw history`` (:func:`gateway.admin.history`) with
the same filters and cursor; ``jobs`` sends over HTTP through the gateway's own submit
policy. Like every route, these only parse, call the service layer with the token's
scope, and return its view.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from gateway import admin
from gateway.admin import inputs, views
from gateway.admin.jobs import MAX_RECEIVERS, MAX_TEXT, Job, send_job
from gateway.admin.usage import CHART_DAYS, UsageView, usage_view
from gateway.api.accounts import AccountId, IdempotencyKey
from gateway.api.auth import TokenScope
from gateway.api.context import Context
from gateway.api.errors import responses
from ledger.models import MessageState
from ledger.rules.history import MAX_PAGE
from ledger.rules.usage import MAX_USAGE_DAYS

router = APIRouter(prefix="/sms", tags=["messages"])

#: Header set on an answer that replays an earlier request's Idempotency-Key.
REPLAYED_HEADER = "Idempotent-Replayed"


class JobBody(BaseModel):
    """One text from one sender to each receiver (keys it does not know are refused)."""

    model_config = ConfigDict(extra="forbid")

    sender: StrictStr = Field(
        description="a sender registered for the account", examples=["SMPPGW"]
    )
    receivers: list[StrictStr] = Field(
        min_length=1,
        max_length=MAX_RECEIVERS,
        description="international numbers, with or without '+'",
        examples=[["+33612345678"]],
    )
    message: StrictStr = Field(min_length=1, max_length=MAX_TEXT, examples=["Your code is 1234"])
    coding: Literal["gsm7", "ucs2"] | None = Field(
        default=None, description="default: gsm7 when every character has a GSM septet"
    )
    receipt: StrictBool = Field(
        default=False, description="ask the upstream for a delivery receipt"
    )
    category: StrictStr | None = Field(
        default=None,
        description="credit packages: verification, marketing or general; default: the"
        " account's default category",
    )
    callback_url: StrictStr | None = Field(
        default=None,
        max_length=inputs.MAX_URL,
        description="POST each sent message's final outcome (its receipt) here, retried"
        " with backoff until a 2xx answer; implies receipt",
        examples=["https://example.com/smppgw/receipts"],
    )


@router.get("/{account}/outgoing", responses=responses(400, 401, 404, 429, 503))
async def outgoing(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    since: Annotated[
        str | None, Query(description="from this time, included (2024-05-01 or ISO 8601)")
    ] = None,
    until: Annotated[str | None, Query(description="up to this time, not included")] = None,
    dest: Annotated[
        str | None, Query(description="destinations starting with these digits (33, +336)")
    ] = None,
    status: Annotated[MessageState | None, Query(description="one message state")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="messages per page")
    ] = admin.DEFAULT_HISTORY_LIMIT,
    before: Annotated[str | None, Query(description="next_before of the previous page")] = None,
) -> views.HistoryPageView:
    """The account's messages, newest first, a page at a time, with their receipts.

    The filters are those of ``smppgw history``; ``next_before`` reads the next page
    (give it with the same filters), null on the last.
    """
    page = await admin.history(
        ctx.store,
        account,
        since=None if since is None else inputs.moment(since),
        until=None if until is None else inputs.moment(until),
        dest_prefix="" if dest is None else inputs.destination_prefix(dest),
        state=status,
        limit=limit,
        before=before,
        scope=scope,
    )
    return views.history_page_view(page)


@router.get("/{account}/usage", responses=responses(400, 401, 404, 429, 503))
async def usage(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    days: Annotated[
        int, Query(ge=1, le=MAX_USAGE_DAYS, description="how many UTC days, today included")
    ] = CHART_DAYS,
) -> UsageView:
    """Messages and credits per UTC day, oldest first, every day present (the console's
    chart). Credits leave out the messages the upstream refused (refunded)."""
    found = await admin.daily_usage(ctx.store, account, days=days, scope=scope)
    return usage_view(account, found)


@router.post("/{account}/jobs", responses=responses(400, 401, 404, 409, 429, 503))
async def send(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    body: JobBody,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> views.JobView:
    """Send a text over HTTP: per receiver, the checks, price and debit of a submit_sm.

    Each receiver is sent (message id, segments, cost) or refused (the SMPP status and
    reason), in the order given. With ``Idempotency-Key`` a retry answers the first
    message ids and charges nothing more (``Idempotent-Replayed: true``). With
    ``callback_url`` each sent message's final outcome is POSTed there (JSON, see
    docs/api.md). 503 when this API serves without the gateway's submit path.
    """
    job = Job(
        sender=body.sender,
        receivers=tuple(body.receivers),
        message=body.message,
        coding=body.coding,
        receipt=body.receipt,
        category=body.category,
        callback_url=None if body.callback_url is None else inputs.callback_url(body.callback_url),
    )
    key = None if idempotency_key is None else inputs.client_key(idempotency_key)
    result = await send_job(ctx.store, ctx.submitter, account, job, key=key, scope=scope)
    if result.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return views.job_view(result)
