"""Contract: the reads of cancel_sm by addresses and of query_sm's final states, on
every store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.errors import InvalidRequest, MessageNotAccepted, UnknownMessage
from ledger.models import DebitRequest, MessageState, NewReceipt
from ledger.store import Store
from tests.ledger.conftest import StoreFactory
from tests.ledger.ledger_helpers import make_account, message

A, B = "447700900123", "447700900456"


async def _debit(
    store: Store, mid: str, *, system_id: str = "smpp-acme", dest: str = A, source: str = "Shop"
) -> None:
    m = message(mid, system_id, destination=dest, source=source)
    [result] = await store.debit_batch([DebitRequest(f"k-{mid}", m)])
    assert result.message_id == mid


async def test_cancellable_is_the_accounts_accepted_messages_between_two_addresses(
    store: Store,
) -> None:
    await make_account(store, balance=10_000)
    await make_account(store, "smpp-other", balance=10_000)
    for mid in ("m1", "m2", "m3"):
        await _debit(store, mid)
    await _debit(store, "to-b", dest=B)
    await _debit(store, "from-x", source="Other")
    await _debit(store, "theirs", system_id="smpp-other")
    await store.mark_forwarded([("m2", "up-2")])
    await store.refund("m3", reason="cancel_sm")
    found = await store.cancellable("smpp-acme", source_addr="Shop", destination_addr=A)
    # m2 was forwarded, m3 refunded: only m1 is still waiting.
    assert [m.message_id for m in found] == ["m1"]
    assert found[0].state is MessageState.ACCEPTED
    for mid in ("m4", "m5"):
        await _debit(store, mid)
    found = await store.cancellable("smpp-acme", source_addr="Shop", destination_addr=A, limit=2)
    assert [m.message_id for m in found] == ["m1", "m4"]  # oldest first, at most the limit
    assert await store.cancellable("smpp-acme", source_addr="Shop", destination_addr="1") == []
    with pytest.raises(InvalidRequest):
        await store.cancellable("smpp-acme", source_addr="", destination_addr=A)
    with pytest.raises(InvalidRequest):
        await store.cancellable("smpp-acme", source_addr="Shop", destination_addr=A, limit=0)


async def test_message_outcome_is_the_refund_reason_and_the_last_receipt(store: Store) -> None:
    await make_account(store, balance=10_000)
    for mid in ("cancelled", "failed", "plain"):
        await _debit(store, mid)
    await store.refund("cancelled", reason="cancel_sm")
    await store.mark_forwarded([("failed", "up-f")])
    await store.add_receipts(
        [
            NewReceipt("smpp-acme", "failed", b"first", None, None),
            NewReceipt("smpp-acme", "failed", b"final", MessageState.FAILED, None),
        ]
    )
    cancelled = await store.message_outcome("cancelled")
    assert (cancelled.refund_note, cancelled.receipt_body) == ("cancel_sm", None)
    failed = await store.message_outcome("failed")
    assert (failed.refund_note, failed.receipt_body) == (None, b"final")
    assert (await store.get_message("failed")).state is MessageState.FAILED
    plain = await store.message_outcome("plain")
    assert (plain.refund_note, plain.receipt_body) == (None, None)
    unknown = await store.message_outcome("nope")
    assert (unknown.refund_note, unknown.receipt_body) == (None, None)


async def test_message_outcome_reads_a_package_paid_refund(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.buy_package("smpp-acme", "general", 100, idempotency_key="buy")
    await _debit(store, "drawn")
    await store.refund("drawn", reason="expired")
    # The refund's first leg went back to the package, in the package journal.
    assert (await store.message_outcome("drawn")).refund_note == "expired"
    assert (await store.get_account("smpp-acme")).balance == 10_000


# -- refund(holder=...): cancel_sm's refund --------------------------------------------------


async def _owned(store: Store, mid: str, owner: str) -> None:
    m = replace(message(mid), owner=owner)
    [result] = await store.debit_batch([DebitRequest(f"k-{mid}", m)])
    assert result.message_id == mid


async def test_a_held_refund_needs_the_message_unforwarded_and_the_holders(store: Store) -> None:
    await make_account(store, balance=10_000)
    await _owned(store, "mine", "gw-a")
    await _owned(store, "sent", "gw-a")
    await store.mark_forwarded([("sent", "up-1")])
    before = await store.journal("smpp-acme")
    # Another gateway holds it; or it has been forwarded: nothing written.
    for mid, holder in (("mine", "gw-b"), ("sent", "gw-a")):
        with pytest.raises(MessageNotAccepted):
            await store.refund(mid, reason="cancel_sm", holder=holder)
    assert await store.journal("smpp-acme") == before
    assert (await store.get_message("mine")).state is MessageState.ACCEPTED
    entry = await store.refund("mine", reason="cancel_sm", holder="gw-a")
    assert entry.amount == 100
    assert (await store.get_message("mine")).state is MessageState.REJECTED
    # A retry (its first answer lost) is the first refund, whoever asks.
    again = await store.refund("mine", reason="cancel_sm", holder="gw-a")
    assert again == entry
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 100
    with pytest.raises(UnknownMessage):
        await store.refund("nope", reason="cancel_sm", holder="gw-a")


async def test_a_held_refund_loses_to_an_adoption(store: Store, open_peer: StoreFactory) -> None:
    """gw-b adopted the message (it took gw-a for dead): gw-a's cancel refunds nothing."""
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-b", address="b:2775")
    await _owned(store, "taken", "")  # nobody's: the first adopter takes it
    peer = await open_peer()
    assert [m.message_id for m in await peer.adopt_unforwarded("gw-b")] == ["taken"]
    with pytest.raises(MessageNotAccepted):
        await store.refund("taken", reason="cancel_sm", holder="gw-a")
    assert (await store.get_message("taken")).state is MessageState.ACCEPTED
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 100
