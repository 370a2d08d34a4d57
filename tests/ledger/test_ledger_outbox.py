"""Contract: the outbox (message rows) and pending receipts, on every store."""

from __future__ import annotations

import pytest

from ledger.errors import UnknownAccount, UnknownMessage
from ledger.models import MessageState, NewReceipt
from ledger.store import Store
from tests.ledger.ledger_helpers import FakeClock, make_account, request


async def test_outbox_lifecycle(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=10_000)
    reqs = [request(f"k{i}", cost=100) for i in range(5)]
    await store.debit_batch(reqs[:3])
    clock.advance(seconds=1)
    await store.debit_batch(reqs[3:])
    queued = await store.unforwarded()
    assert [m.message_id for m in queued] == ["m-k0", "m-k1", "m-k2", "m-k3", "m-k4"]
    first = queued[0]
    assert first.pdu_body == reqs[0].message.pdu_body
    assert (first.source_addr, first.destination_addr) == ("Shop", "447700900123")
    assert (first.segments, first.registered_delivery, first.cost) == (1, 1, 100)
    assert [m.message_id for m in await store.unforwarded(limit=2)] == ["m-k0", "m-k1"]

    clock.advance(seconds=1)
    await store.mark_forwarded([("m-k0", "up-0"), ("m-k1", "up-1")])
    assert [m.message_id for m in await store.unforwarded()] == ["m-k2", "m-k3", "m-k4"]
    found = await store.message_by_upstream_id("up-1")
    assert found is not None
    assert (found.message_id, found.state, found.upstream_id) == (
        "m-k1",
        MessageState.FORWARDED,
        "up-1",
    )
    assert found.updated_at == clock.now
    assert found.created_at < found.updated_at
    assert await store.message_by_upstream_id("up-404") is None

    await store.set_message_state("m-k1", MessageState.DELIVERED)
    assert (await store.get_message("m-k1")).state is MessageState.DELIVERED
    await store.set_message_state("m-k0", MessageState.FAILED)
    assert (await store.get_message("m-k0")).state is MessageState.FAILED


async def test_mark_forwarded_keeps_a_refund(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1")])
    await store.refund("m-k1", reason="expired")
    await store.mark_forwarded([("m-k1", "up-late")])
    msg = await store.get_message("m-k1")
    assert (msg.state, msg.upstream_id) == (MessageState.REJECTED, "up-late")


async def test_outbox_errors(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1")])
    with pytest.raises(UnknownMessage):
        await store.get_message("m-nope")
    with pytest.raises(UnknownMessage):
        await store.set_message_state("m-nope", MessageState.DELIVERED)
    with pytest.raises(ValueError, match="refund"):
        await store.set_message_state("m-k1", MessageState.REJECTED)
    with pytest.raises(UnknownMessage):
        await store.mark_forwarded([("m-k1", "up-1"), ("m-nope", "up-2")])
    # The batch was refused as a whole: m-k1 is still waiting.
    assert (await store.get_message("m-k1")).state is MessageState.ACCEPTED
    await store.mark_forwarded([])


def _receipt(
    message_id: str,
    system_id: str = "smpp-acme",
    body: bytes | None = None,
    *,
    state: MessageState | None = None,
    claimed_by: str | None = None,
) -> NewReceipt:
    return NewReceipt(
        system_id, message_id, body or f"receipt {message_id}".encode(), state, claimed_by
    )


async def test_receipts(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=1_000)
    await make_account(store, "smpp-other", balance=1_000)
    await store.debit_batch([request("k1"), request("k2"), request("k3", "smpp-other")])
    r1, r2 = await store.add_receipts(
        [_receipt("m-k1", body=b"receipt one"), _receipt("m-k2", body=b"receipt two")]
    )
    [r3] = await store.add_receipts([_receipt("m-k3", "smpp-other", b"receipt three")])
    assert r1 < r2 < r3
    assert await store.add_receipts([]) == []
    pending = await store.pending_receipts("smpp-acme")
    assert [(p.id, p.message_id, p.pdu_body) for p in pending] == [
        (r1, "m-k1", b"receipt one"),
        (r2, "m-k2", b"receipt two"),
    ]
    assert pending[0].system_id == "smpp-acme"
    assert pending[0].created_at == clock.now
    assert (pending[0].claimed_by, pending[0].claimed_until) == (None, None)
    assert [p.id for p in await store.pending_receipts("smpp-acme", limit=1)] == [r1]
    await store.receipts_delivered([r1])
    await store.receipts_delivered([r1, 999_999])  # twice, and an unknown id: harmless
    await store.receipts_delivered([])
    assert [p.id for p in await store.pending_receipts("smpp-acme")] == [r2]
    assert [p.id for p in await store.pending_receipts("smpp-other")] == [r3]


async def test_add_receipts_sets_states_in_the_same_transaction(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1"), request("k2"), request("k3")])
    await store.add_receipts(
        [
            _receipt("m-k1", state=MessageState.DELIVERED),
            _receipt("m-k2", state=MessageState.FAILED),
            _receipt("m-k3"),  # an intermediate receipt (ENROUTE): state unchanged
            _receipt("m-k2", state=MessageState.DELIVERED),  # a later one wins
        ]
    )
    assert (await store.get_message("m-k1")).state is MessageState.DELIVERED
    assert (await store.get_message("m-k2")).state is MessageState.DELIVERED
    assert (await store.get_message("m-k3")).state is MessageState.ACCEPTED
    assert len(await store.pending_receipts("smpp-acme")) == 4


async def test_add_receipts_refuses_the_whole_batch(store: Store) -> None:
    await make_account(store, balance=1_000)
    await make_account(store, "smpp-other", balance=1_000)
    await store.debit_batch([request("k1"), request("k2", "smpp-other")])
    good = _receipt("m-k1", state=MessageState.DELIVERED)
    with pytest.raises(UnknownAccount):
        await store.add_receipts([good, _receipt("m-k1", "smpp-nobody")])
    with pytest.raises(UnknownMessage):
        await store.add_receipts([good, _receipt("m-nope")])
    with pytest.raises(ValueError, match="belongs to smpp-other"):
        await store.add_receipts([good, _receipt("m-k2")])  # another account's message
    with pytest.raises(ValueError, match="refund"):
        await store.add_receipts([good, _receipt("m-k1", state=MessageState.REJECTED)])
    # Nothing of the refused batches was written: no receipt, no state.
    assert await store.pending_receipts("smpp-acme") == []
    assert (await store.get_message("m-k1")).state is MessageState.ACCEPTED
