"""cancel_sm by addresses refunds all its messages in one ledger transaction (the batch
refund, ``Store.refund_many``), against a live gateway on SQLite and PostgreSQL."""

from __future__ import annotations

from gateway.app import Gateway
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import EntryKind, MessageState
from tests.integration.harness import in_thread, make_account
from tests.integration.test_cancel_query import _by_address, _sent, _submit
from tests.integration.test_operations import (
    _balance,
    _hold_upstream,
    _raw,
    _release_upstream,
)


async def test_cancel_by_addresses_is_one_refund_transaction_and_sends_nothing(
    gw_store: tuple[Gateway, Store],
) -> None:
    gw, store = gw_store
    await make_account(store, "smpp-batch", credits="100")
    esme = await _raw(gw, "smpp-batch")
    await _hold_upstream(gw)
    held = [await _sent(esme, _submit(text=f"held {i}".encode())) for i in range(40)]
    first = await in_thread(esme.call, _by_address())
    assert first.command_status == S.ESME_ROK
    assert await _balance(store, "smpp-batch") == 100_000
    refunds = [e for e in await store.journal("smpp-batch") if e.kind is EntryKind.REFUND]
    assert sorted(e.message_id or "" for e in refunds) == sorted(held)
    # One transaction: every entry has its time, and they follow each other's balance.
    assert len({e.created_at for e in refunds}) == 1
    after = sorted(e.balance_after for e in refunds)
    assert after == [100_000 - 1_000 * (39 - i) for i in range(40)]
    for mid in held:
        assert (await store.get_message(mid)).state is MessageState.REJECTED
    # A retried cancel finds nothing left; the upstream, back, is sent none of them.
    again = await in_thread(esme.call, _by_address())
    assert again.command_status == S.ESME_RCANCELFAIL
    await _release_upstream(gw)
    assert await gw.forwarder.drain(5)
    assert gw.simulator is not None
    assert gw.simulator.stats.submits == 0
    assert len([e for e in await store.journal("smpp-batch") if e.kind is EntryKind.REFUND]) == 40
    await in_thread(esme.close)
