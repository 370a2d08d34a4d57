"""History actions: what an account's messages became, and the retention sweep."""

from __future__ import annotations

from datetime import datetime

from gateway.admin.errors import InvalidInput, action
from gateway.admin.scope import ADMIN, Scope, check_visible
from ledger.models import MessageState
from ledger.models.history import HistoryPage, PruneResult
from ledger.store import Store

#: Messages one page shows unless told otherwise.
DEFAULT_HISTORY_LIMIT = 50


@action
async def history(
    store: Store,
    system_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    dest_prefix: str = "",
    state: MessageState | None = None,
    limit: int = DEFAULT_HISTORY_LIMIT,
    before: str | None = None,
    scope: Scope = ADMIN,
) -> HistoryPage:
    """A page of the account's messages, newest first.

    ``since`` is inclusive and ``until`` exclusive; ``dest_prefix`` keeps destinations
    starting with it, ``state`` one message state. ``before`` is the previous page's
    ``next_before``, with the same filters. An account outside ``scope`` is unknown.
    """
    await check_visible(store, scope, system_id)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until")
    return await store.history(
        system_id,
        since=since,
        until=until,
        dest_prefix=dest_prefix,
        state=state,
        limit=limit,
        before=before,
    )


@action
async def prune_history(store: Store, retention_days: int) -> PruneResult:
    """Delete messages older than ``retention_days`` days and their receipts, now.

    The journal is never touched, nor a message still waiting to be forwarded. The
    gateway runs the same sweep hourly when ``[ledger] history_retention_days`` is set.
    """
    if retention_days < 1:
        raise InvalidInput(
            "history is kept forever (ledger.history_retention_days = 0): give --days N"
        )
    return await store.prune_history(retention_days)
