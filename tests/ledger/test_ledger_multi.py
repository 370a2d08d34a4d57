"""Contract: all-or-none debits (submit_multi) and repricing (replace_sm), on every store."""

from __future__ import annotations

import pytest

from ledger.errors import (
    AccountNotActive,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidRequest,
    MessageNotAccepted,
    UnknownMessage,
)
from ledger.models import AccountStatus, DebitStatus, EntryKind, MessageState
from ledger.rules.multi import all_debited
from ledger.store import Store
from tests.ledger.ledger_helpers import full_journal, make_account, request

# -- debit_all ----------------------------------------------------------------------------------


async def test_debit_all_writes_every_request_in_one_go(store: Store) -> None:
    await make_account(store, balance=1_000)
    results = await store.debit_all([request(f"k{i}", cost=300) for i in range(3)])
    assert [r.status for r in results] == [DebitStatus.OK] * 3
    assert [r.balance_after for r in results] == [700, 400, 100]
    assert all_debited(results)
    assert (await store.get_account("smpp-acme")).balance == 100
    assert [(await store.get_message(f"m-k{i}")).state for i in range(3)] == [
        MessageState.ACCEPTED
    ] * 3


async def test_debit_all_writes_nothing_when_one_cannot_pay(store: Store) -> None:
    await make_account(store, balance=1_000)
    before = await full_journal(store, "smpp-acme")
    results = await store.debit_all([request(f"k{i}", cost=300) for i in range(4)])
    # The first three would pay; the fourth cannot, so none is charged.
    assert [r.status for r in results] == [DebitStatus.OK] * 3 + [DebitStatus.INSUFFICIENT_CREDIT]
    assert not all_debited(results)
    assert (await store.get_account("smpp-acme")).balance == 1_000
    assert await full_journal(store, "smpp-acme") == before
    for i in range(4):
        with pytest.raises(UnknownMessage):
            await store.get_message(f"m-k{i}")
    # The same set, affordable now, goes through whole: nothing of the refusal remains.
    await store.credit("smpp-acme", 200, idempotency_key="top-up")
    again = await store.debit_all([request(f"k{i}", cost=300) for i in range(4)])
    assert all_debited(again)
    assert (await store.get_account("smpp-acme")).balance == 0


async def test_debit_all_replayed_is_the_first_result_and_writes_nothing(store: Store) -> None:
    await make_account(store, balance=1_000)
    first = await store.debit_all([request("a", cost=100), request("b", cost=100)])
    journal = await full_journal(store, "smpp-acme")
    again = await store.debit_all([request("a", cost=100), request("b", cost=100)])
    assert [r.status for r in again] == [DebitStatus.DUPLICATE] * 2
    assert [r.message_id for r in again] == [r.message_id for r in first]
    assert all_debited(again)
    assert await full_journal(store, "smpp-acme") == journal
    # Half replay, half new: not all-or-none any more, so nothing is written.
    mixed = await store.debit_all([request("a", cost=100), request("c", cost=100)])
    assert not all_debited(mixed)
    with pytest.raises(UnknownMessage):
        await store.get_message("m-c")


async def test_debit_all_refuses_a_disabled_account_whole(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.set_status("smpp-acme", AccountStatus.DISABLED)
    results = await store.debit_all([request("a"), request("b")])
    assert {r.status for r in results} == {DebitStatus.ACCOUNT_DISABLED}
    assert (await store.get_account("smpp-acme")).balance == 1_000


async def test_debit_all_of_nothing_and_malformed(store: Store) -> None:
    assert await store.debit_all([]) == []
    await make_account(store, balance=1_000)
    with pytest.raises(InvalidRequest):
        await store.debit_all([request("a"), request("b", cost=0)])
    with pytest.raises(UnknownMessage):
        await store.get_message("m-a")


# -- reprice ------------------------------------------------------------------------------------


async def _reprice(store: Store, mid: str, cost: int, key: str, body: bytes = b"new") -> object:
    return await store.reprice(
        mid,
        new_cost=cost,
        pdu_body=body,
        segments=2,
        registered_delivery=0,
        idempotency_key=key,
    )


async def test_reprice_refunds_the_old_cost_and_debits_the_new(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k", cost=300)])
    result = await store.reprice(
        "m-k",
        new_cost=500,
        pdu_body=b"longer text",
        segments=2,
        registered_delivery=0,
        idempotency_key="r1",
    )
    assert (result.balance_after, result.old_cost, result.new_cost) == (500, 300, 500)
    assert (await store.get_account("smpp-acme")).balance == 500
    refund, debit = (await full_journal(store, "smpp-acme"))[-2:]
    assert (refund.kind, refund.amount, refund.message_id) == (EntryKind.REFUND, 300, "m-k")
    assert (debit.kind, debit.amount, debit.message_id) == (EntryKind.DEBIT, -500, "m-k")
    msg = await store.get_message("m-k")
    assert (msg.pdu_body, msg.cost, msg.segments, msg.registered_delivery) == (
        b"longer text",
        500,
        2,
        0,
    )
    assert msg.state is MessageState.ACCEPTED
    # A later refund (the upstream refuses it) gives back what it costs now.
    await store.refund("m-k", reason="rejected upstream")
    assert (await store.get_account("smpp-acme")).balance == 1_000
    assert await store.audit() == []


async def test_reprice_replay_writes_nothing_and_conflict_is_refused(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k", cost=300)])
    await _reprice(store, "m-k", 100, "r1")
    journal = await full_journal(store, "smpp-acme")
    again = await store.reprice(
        "m-k",
        new_cost=100,
        pdu_body=b"new",
        segments=2,
        registered_delivery=0,
        idempotency_key="r1",
    )
    assert again.replayed
    assert await full_journal(store, "smpp-acme") == journal
    with pytest.raises(IdempotencyConflict):
        await _reprice(store, "m-k", 200, "r1")
    assert (await store.get_account("smpp-acme")).balance == 900


async def test_reprice_refusals_write_nothing(store: Store) -> None:
    await make_account(store, balance=400)
    await store.debit_batch([request("k", cost=300), request("f", cost=100)])
    journal = await full_journal(store, "smpp-acme")
    with pytest.raises(UnknownMessage):
        await _reprice(store, "m-none", 100, "r0")
    with pytest.raises(InsufficientCredit):
        await _reprice(store, "m-k", 301, "r1")  # the balance (0) cannot pay 1 more
    # Forwarded: too late to replace; the movement rolls back with the row.
    await store.mark_forwarded([("m-f", "up-1")])
    with pytest.raises(MessageNotAccepted):
        await _reprice(store, "m-f", 50, "r2")
    await store.set_status("smpp-acme", AccountStatus.DISABLED)
    with pytest.raises(AccountNotActive):
        await _reprice(store, "m-k", 100, "r3")
    assert await full_journal(store, "smpp-acme") == journal
    assert (await store.get_message("m-f")).cost == 100
    assert (await store.get_message("m-k")).pdu_body != b"new"
    with pytest.raises(InvalidRequest):
        await _reprice(store, "m-k", 0, "r4")
