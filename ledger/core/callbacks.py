"""Receipt callbacks of messages sent over HTTP, over a backend (migration 0010).

A job sent with a ``callback_url`` registers one callback per accepted message
(:meth:`CallbacksCore.add_callbacks`) before the job is answered. Once a message's
outcome is final (DELIVERED or FAILED by its receipt, REJECTED by the upstream), any
gateway may claim its callback for a while (:meth:`CallbacksCore.claim_callbacks`),
POST it, and settle it (:meth:`CallbacksCore.settle_callback`) or defer it after a
failed attempt (:meth:`CallbacksCore.defer_callback`). A gateway that dies holding a
claim loses it when the claim runs out (at once if it restarts under the same id), so
a callback is POSTed at least once across a crash; the POST carries the message id as
its ``Idempotency-Key`` for the receiver to drop a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Access, Execute, ExecuteMany, Fetch, Script, do
from ledger.core.base import CoreBase
from ledger.errors import InvalidRequest
from ledger.models.notices import CallbackOutcome, ReceiptCallback
from ledger.rules.validation import require_gateway_id


def _claim(
    gateway_id: str, now: datetime, until: datetime, limit: int
) -> Script[list[ReceiptCallback]]:
    ids = yield from do(Fetch(sql.CLAIM_CALLBACKS, (gateway_id, now, until, limit), rows.first))
    if not ids:
        return []
    return (yield from do(Fetch(sql.CALLBACKS_BY_ID, (sorted(ids),), rows.receipt_callback)))


class CallbacksCore(CoreBase):
    """``CallbackStore`` over a backend."""

    async def add_callbacks(self, system_id: str, url: str, message_ids: Sequence[str]) -> None:
        """Register ``url`` as the receipt callback of each of the account's messages.

        Idempotent: a message that has one keeps its first. The messages must exist
        (they were just debited).
        """
        if not url:
            raise InvalidRequest("a callback needs a URL")
        now = self._now()
        batch = [(mid, system_id, url, now) for mid in dict.fromkeys(message_ids)]
        if batch:
            await self._statement(ExecuteMany(sql.ADD_CALLBACK, batch))

    async def claim_callbacks(
        self, gateway_id: str, *, lease: float = 60.0, limit: int = 100
    ) -> list[ReceiptCallback]:
        """Claim due callbacks (their message final) for ``lease`` seconds, oldest first.

        Takes those unclaimed, whose claim or retry time ran out, or claimed by
        ``gateway_id`` itself; two gateways claiming at once never share one.
        """
        require_gateway_id(gateway_id, "claiming receipt callbacks")
        if limit < 1:
            raise InvalidRequest(f"limit must be at least 1, not {limit}")
        now = self._now()
        until = now + timedelta(seconds=lease)
        return await self._run(partial(_claim, gateway_id, now, until, limit), Access.TRANSACTION)

    async def settle_callback(
        self, callback_id: int, outcome: CallbackOutcome, detail: str = ""
    ) -> None:
        """The callback is done: POSTed (2xx), or given up after its last attempt."""
        outcome = CallbackOutcome(outcome)
        args = (callback_id, self._now(), outcome.value, detail)
        await self._statement(Execute(sql.SETTLE_CALLBACK, args))

    async def defer_callback(self, callback_id: int, retry_after: float, detail: str) -> None:
        """An attempt failed: any gateway may claim it again ``retry_after`` s from now."""
        until = self._now() + timedelta(seconds=retry_after)
        await self._statement(Execute(sql.DEFER_CALLBACK, (callback_id, until, detail)))

    async def callbacks(self, system_id: str, *, limit: int = 1000) -> list[ReceiptCallback]:
        """The account's callbacks, settled or not, oldest first (tests, operators)."""
        return await self._read(Fetch(sql.CALLBACKS_OF, (system_id, limit), rows.receipt_callback))
