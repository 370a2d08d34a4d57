"""Receipt callbacks (``gateway.delivery.callbacks``) on both stores, POSTed to a real
local HTTP server: once final, retried with backoff, durable across a lost claim."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from gateway.delivery.callbacks import MAX_ATTEMPTS, CallbackPoster, payload, retry_delay
from ledger.models import DebitStatus, MessageState, NewReceipt
from ledger.models.notices import CallbackOutcome
from ledger.store import Store
from tests.api.http_sink import HttpSink, http_sink
from tests.ledger.conftest import clock, pg_session_schema, pg_url, store, store_url
from tests.ledger.ledger_helpers import FakeClock, make_account, request

__all__ = ["clock", "pg_session_schema", "pg_url", "store", "store_url"]

SID = "smpp-shop"
GW_A, GW_B = "gw-a:2775", "gw-b:2775"


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with http_sink() as server:
        yield server


async def sent(store: Store, sink: HttpSink, *keys: str) -> list[str]:
    """Debit a message per key, register the sink as their callback; their ids."""
    await make_account(store, SID, balance=10_000)
    for gw in (GW_A, GW_B):
        await store.register_gateway(gw, address="127.0.0.1:2775")
    results = await store.debit_batch([request(k, SID) for k in keys])
    assert {r.status for r in results} == {DebitStatus.OK}
    ids = [r.message_id for r in results]
    await store.add_callbacks(SID, sink.url(), ids)
    await store.add_callbacks(SID, sink.url("/other"), ids)  # a replay keeps the first
    return ids


async def delivered(store: Store, message_id: str, upstream_id: str = "up-1") -> None:
    await store.mark_forwarded([(message_id, upstream_id)])
    receipt = NewReceipt(SID, message_id, b"receipt", MessageState.DELIVERED, None)
    await store.add_receipts([receipt])


async def test_a_final_outcome_is_posted_once(store: Store, sink: HttpSink) -> None:
    [mid, waiting] = await sent(store, sink, "k1", "k2")
    poster = CallbackPoster(store, gateway_id=GW_A)
    assert await poster.run_once() == 0  # nothing final yet: nothing POSTed
    assert (await store.backlog()).callbacks_pending == 2
    await delivered(store, mid)
    outcomes: list[str] = []
    poster.count = outcomes.append
    assert await poster.run_once() == 1
    assert await CallbackPoster(store, gateway_id=GW_B).run_once() == 0
    [posted] = sink.received
    assert posted.path == "/receipts"
    assert posted.headers["idempotency-key"] == mid
    assert posted.headers["content-type"] == "application/json"
    body = posted.body
    assert (body["message_id"], body["account"], body["state"], body["upstream_id"]) == (
        mid,
        SID,
        "delivered",
        "up-1",
    )
    assert body["receipt_at"] is not None and body["receiver"] == "447700900123"
    assert outcomes == ["sent"]
    assert (await store.backlog()).callbacks_pending == 1
    first, second = await store.callbacks(SID)
    assert (first.message_id, first.outcome, first.attempts) == (mid, CallbackOutcome.SENT, 1)
    assert (second.message_id, second.outcome) == (waiting, None)
    assert payload(first) == body


async def test_a_failed_post_is_retried_with_backoff(
    store: Store, sink: HttpSink, clock: FakeClock
) -> None:
    [mid] = await sent(store, sink, "k1")
    await delivered(store, mid)
    sink.replies = [503]
    poster = CallbackPoster(store, gateway_id=GW_A)
    with capture_logs() as logs:
        await poster.run_once()
    [failed] = [e for e in logs if e["event"] == "callback.failed"]
    assert (failed["reason"], failed["retry_in_s"], failed["message_id"]) == (
        "answered 503",
        retry_delay(1),
        mid,
    )
    await poster.run_once()  # too early
    assert len(sink.received) == 1
    clock.advance(seconds=retry_delay(1) + 1)
    await CallbackPoster(store, gateway_id=GW_B).run_once()  # any gateway retries it
    assert len(sink.received) == 2
    [cb] = await store.callbacks(SID)
    assert (cb.outcome, cb.attempts, cb.detail) == (CallbackOutcome.SENT, 2, "200")


async def test_a_url_that_never_answers_is_given_up(
    store: Store, sink: HttpSink, clock: FakeClock
) -> None:
    await make_account(store, SID, balance=10_000)
    [r] = await store.debit_batch([request("k1", SID)])
    # Nothing listens on the sink's port once it is closed: take a free one and close it.
    with http_sink() as gone:
        dead = gone.url()
    await store.add_callbacks(SID, dead, [r.message_id])
    await delivered(store, r.message_id)
    poster = CallbackPoster(store, gateway_id=GW_A)
    with capture_logs() as logs:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert await poster.run_once() == 1, attempt
            clock.advance(seconds=retry_delay(attempt) + 1)
        assert await poster.run_once() == 0
    assert len([e for e in logs if e["event"] == "callback.failed"]) == MAX_ATTEMPTS - 1
    [abandoned] = [e for e in logs if e["event"] == "callback.abandoned"]
    assert "ConnectError" in str(abandoned["reason"])
    [cb] = await store.callbacks(SID)
    assert (cb.outcome, cb.attempts) == (CallbackOutcome.FAILED, MAX_ATTEMPTS)


async def test_a_claim_lost_in_a_crash_is_posted_later(
    store: Store, sink: HttpSink, clock: FakeClock
) -> None:
    [mid] = await sent(store, sink, "k1")
    await delivered(store, mid)
    # Gateway A claims it and dies before POSTing (nothing settled).
    [claimed] = await store.claim_callbacks(GW_A, lease=60)
    assert claimed.message_id == mid
    assert await CallbackPoster(store, gateway_id=GW_B).run_once() == 0  # still A's
    # A restarted under its id takes its own claim back at once...
    assert await CallbackPoster(store, gateway_id=GW_A).run_once() == 1
    assert len(sink.received) == 1


async def test_another_gateway_takes_a_dead_gateways_claim(
    store: Store, sink: HttpSink, clock: FakeClock
) -> None:
    [mid] = await sent(store, sink, "k1")
    await delivered(store, mid)
    await store.claim_callbacks(GW_A, lease=60)
    clock.advance(seconds=61)
    assert await CallbackPoster(store, gateway_id=GW_B).run_once() == 1
    [posted] = sink.received
    assert posted.body["message_id"] == mid


async def test_a_refused_message_is_posted_as_rejected(store: Store, sink: HttpSink) -> None:
    [mid] = await sent(store, sink, "k1")
    await store.refund(mid, reason="upstream refused it")
    await CallbackPoster(store, gateway_id=GW_A).run_once()
    [posted] = sink.received
    assert (posted.body["state"], posted.body["receipt_at"]) == ("rejected", None)


async def test_the_retention_sweep_deletes_callbacks_with_their_messages(
    store: Store, sink: HttpSink, clock: FakeClock
) -> None:
    [mid] = await sent(store, sink, "k1")
    await delivered(store, mid)
    await CallbackPoster(store, gateway_id=GW_A).run_once()
    clock.advance(days=31)
    pruned = await store.prune_history(30)
    assert pruned.messages == 1
    assert await store.callbacks(SID) == []
    assert await store.audit() == []
