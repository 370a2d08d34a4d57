"""Receipt callbacks: each final outcome of a message sent over HTTP, POSTed to its URL.

A small periodic task of each gateway, like the alert task (``gateway.mail.alerts``).
Each round (:meth:`CallbackPoster.run_once`) claims the callbacks whose message is final
(``ledger.core.callbacks``), POSTs each as JSON (:func:`payload`) with the message id as
its ``Idempotency-Key`` header, and settles it on a 2xx answer. Any other answer, a
refused connection or a timeout defers it: any gateway retries it after
:func:`retry_delay` (10 s, doubling, at most an hour), until :data:`MAX_ATTEMPTS`
attempts have failed and it is given up (``callback.abandoned``). Redirects are not
followed: the URL is the one the job gave.

Per-message volume: a POST that worked is counted (``smppgw_callbacks_total``) and
logged at debug only; failures are warnings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog

from ledger.errors import LedgerError
from ledger.models.notices import CallbackOutcome, ReceiptCallback
from ledger.store import CallbackStore

#: Seconds between two rounds.
DEFAULT_INTERVAL = 2.0
#: Seconds a claimed callback is ours before another gateway may take it.
CLAIM_LEASE = 60.0
#: Seconds one POST may take, connection included.
POST_TIMEOUT_S = 10.0
#: Backoff after a failed attempt: first retry, and at most.
RETRY_FIRST_S = 10.0
RETRY_MAX_S = 3600.0
#: Attempts before a callback is given up (about 4 hours of retries with the backoff).
MAX_ATTEMPTS = 12


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of a callback attempted ``attempts`` times (doubling)."""
    doubled: float = RETRY_FIRST_S * 2.0 ** max(attempts - 1, 0)
    return min(doubled, RETRY_MAX_S)


def payload(callback: ReceiptCallback) -> dict[str, Any]:
    """The JSON body POSTed for ``callback``: what the message became, and when."""
    return {
        "message_id": callback.message_id,
        "account": callback.system_id,
        "receiver": callback.destination_addr,
        "sender": callback.source_addr,
        "state": callback.state.value,
        "upstream_id": callback.upstream_id,
        "receipt_at": callback.receipt_at.isoformat() if callback.receipt_at else None,
    }


class CallbackPoster:
    """Claims due receipt callbacks and POSTs them; ``count`` is told each outcome."""

    def __init__(
        self,
        store: CallbackStore,
        *,
        gateway_id: str,
        lease: float = CLAIM_LEASE,
        timeout: float = POST_TIMEOUT_S,
        count: Callable[[str], None] | None = None,
        log: Any = None,
    ) -> None:
        self.store = store
        self.gateway_id = gateway_id
        self.lease = lease
        self.timeout = timeout
        self.count = count or (lambda _outcome: None)
        self.log = log or structlog.get_logger("smppgw.callbacks")

    async def run_once(self) -> int:
        """One round: claim, POST, settle or defer; how many callbacks were attempted."""
        due = await self.store.claim_callbacks(self.gateway_id, lease=self.lease)
        if not due:
            return 0
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
            # One at a time: a slow receiver delays the round, never the submit path.
            for callback in due:
                await self._post(http, callback)
        return len(due)

    async def _post(self, http: httpx.AsyncClient, callback: ReceiptCallback) -> None:
        facts = {
            "system_id": callback.system_id,
            "message_id": callback.message_id,
            "state": callback.state.value,
            "url": callback.url,
            "attempt": callback.attempts,
        }
        headers = {"Idempotency-Key": callback.message_id}
        try:
            answer = await http.post(callback.url, json=payload(callback), headers=headers)
        except httpx.HTTPError as e:
            why = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        else:
            if answer.is_success:
                await self.store.settle_callback(
                    callback.id, CallbackOutcome.SENT, str(answer.status_code)
                )
                self.log.debug("callback.sent", status=answer.status_code, **facts)
                self.count(CallbackOutcome.SENT.value)
                return
            why = f"answered {answer.status_code}"
        if callback.attempts >= MAX_ATTEMPTS:
            await self.store.settle_callback(callback.id, CallbackOutcome.FAILED, why)
            self.log.warning("callback.abandoned", reason=why, **facts)
            self.count(CallbackOutcome.FAILED.value)
            return
        delay = retry_delay(callback.attempts)
        await self.store.defer_callback(callback.id, delay, why)
        self.log.warning("callback.failed", reason=why, retry_in_s=delay, **facts)
        self.count("deferred")


@asynccontextmanager
async def callback_posting(
    poster: CallbackPoster, *, interval: float = DEFAULT_INTERVAL
) -> AsyncIterator[CallbackPoster]:
    """Run ``poster`` now and every ``interval`` seconds until the block exits."""
    task = asyncio.get_running_loop().create_task(_rounds(poster, interval))
    try:
        yield poster
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _rounds(poster: CallbackPoster, interval: float) -> None:
    while True:
        try:
            await poster.run_once()
        except LedgerError as e:
            # The ledger is down: nothing is lost (callbacks wait in the ledger).
            poster.log.warning("callback.round_failed", error=repr(e))
        await asyncio.sleep(interval)
