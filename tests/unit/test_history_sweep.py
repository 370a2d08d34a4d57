"""The gateway's retention sweep (``gateway.app.history_retention``) on a real ledger."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from gateway.app import history_retention
from ledger.models import DebitRequest, MessageState
from ledger.store import Store
from tests.ledger.conftest import clock, pg_session_schema, pg_url, store, store_url
from tests.ledger.ledger_helpers import FakeClock, make_account, message

__all__ = ["clock", "pg_session_schema", "pg_url", "store", "store_url"]


async def test_the_sweep_prunes_at_start_and_then_periodically(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a", balance=10_000)
    await store.debit_batch([DebitRequest("k0", message("m0", "smpp-a", cost=100))])
    await store.set_message_state("m0", MessageState.DELIVERED)
    clock.advance(days=8)
    with capture_logs() as logs:
        async with history_retention(store, 7, interval=0.05):
            for _ in range(100):  # the first sweep runs at once
                if not (await store.history("smpp-a")).items:
                    break
                await asyncio.sleep(0.01)
            assert (await store.history("smpp-a")).items == ()
            # A message that ages past retention while the gateway runs goes too.
            await store.debit_batch([DebitRequest("k1", message("m1", "smpp-a", cost=100))])
            await store.set_message_state("m1", MessageState.FAILED)
            clock.advance(days=8)
            for _ in range(200):
                if not (await store.history("smpp-a")).items:
                    break
                await asyncio.sleep(0.01)
            assert (await store.history("smpp-a")).items == ()
    pruned = [e for e in logs if e["event"] == "history.pruned"]
    assert [e["messages"] for e in pruned] == [1, 1]
    assert len(await store.journal("smpp-a")) == 3  # the credit and both debits stay
