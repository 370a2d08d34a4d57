"""``/sms/{account}/outgoing`` and ``/sms/{account}/jobs``: an account's messages.

``outgoing`` is the history of ``smppgw history`` (:func:`gateway.admin.history`) with
the same filters and cursor; ``jobs`` sends over HTTP through the gateway's own submit
policy. Like every route, these only parse, call the service layer with the token's
scope, and return its view.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway import admin
from gateway.admin import inputs, views
from gateway.api.accounts import AccountId
from gateway.api.auth import TokenScope
from gateway.api.context import Context
from gateway.api.errors import responses
from ledger.models import MessageState
from ledger.rules.history import MAX_PAGE

router = APIRouter(prefix="/sms", tags=["messages"])


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
