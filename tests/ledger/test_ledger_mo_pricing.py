"""MOs priced at ``[delivery] mo_weight_credits``, on both stores: the debit is written
in the transaction that stores the MO, two-sided, once per MO (a retried deliver_sm is
not charged again), and an account that cannot pay gets its MO unpriced."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from ledger.errors import InvalidRequest, UnknownAccount
from ledger.models import AccountStatus, EntryKind, HouseAccount
from ledger.models.mo import NewMo, StoredMo
from ledger.rules.mo_pricing import (
    UNPRICED_BALANCE,
    UNPRICED_CLOSED,
    mo_key,
    unpriced_reason,
)
from ledger.rules.planning import AccountState
from ledger.store import Store
from tests.ledger.conftest import StoreFactory
from tests.ledger.ledger_helpers import FakeClock, full_journal, make_account

PRICE = 250  # milli-credits


def mo(system_id: str, text: bytes = b"YES", *, price: int = PRICE) -> NewMo:
    return NewMo(system_id, "default", "33612345678", "33700000001", text, price=price)


def test_who_can_pay_for_an_mo() -> None:
    state = AccountState("smpp-a", AccountStatus.ACTIVE, 300, None, None, 0)
    assert unpriced_reason(state, 300) == ""
    assert unpriced_reason(state, 301) == UNPRICED_BALANCE
    assert unpriced_reason(replace(state, status=AccountStatus.DISABLED), 300) == ""
    assert unpriced_reason(replace(state, status=AccountStatus.CLOSED), 1) == UNPRICED_CLOSED
    assert unpriced_reason(None, 1) == UNPRICED_CLOSED
    assert mo_key(7) == "mo:7"


async def test_a_priced_mo_is_debited_with_it_two_sided(store: Store) -> None:
    await make_account(store, "smpp-a", balance=1000)
    [first, free] = await store.store_mo([mo("smpp-a"), mo("smpp-a", b"NO", price=0)])
    assert first == StoredMo(first.id, charged=PRICE) and free == StoredMo(free.id)
    assert (await store.get_account("smpp-a")).balance == 1000 - PRICE
    entry = (await full_journal(store, "smpp-a"))[-1]
    assert entry.kind is EntryKind.MO and entry.amount == -PRICE
    assert entry.counter_account == HouseAccount.SALES.value
    assert entry.idempotency_key == mo_key(first.id) and entry.message_id is None
    assert [m.id for m in await store.pending_mo("smpp-a")] == [first.id, free.id]
    assert (await store.house_balances())[HouseAccount.SALES.value] == PRICE
    assert await store.audit() == []


async def test_a_retried_deliver_sm_is_stored_and_charged_once(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a", balance=1000)
    [first] = await store.store_mo([mo("smpp-a")], retry_window=600)
    clock.advance(seconds=30)
    # The upstream did not get our deliver_sm_resp and sends the same deliver_sm again.
    [again] = await store.store_mo([mo("smpp-a")], retry_window=600)
    assert again == StoredMo(first.id, retried=True)
    [other] = await store.store_mo([mo("smpp-a", b"YES!")], retry_window=600)
    assert other.id != first.id and other.charged == PRICE
    clock.advance(seconds=600)  # past the window: the same text is a new message
    [later] = await store.store_mo([mo("smpp-a")], retry_window=600)
    assert later.id not in (first.id, other.id) and later.charged == PRICE
    assert (await store.get_account("smpp-a")).balance == 1000 - 3 * PRICE
    assert len(await store.pending_mo("smpp-a")) == 3
    assert await store.audit() == []


async def test_an_account_that_cannot_pay_gets_its_mo_unpriced(store: Store) -> None:
    await make_account(store, "smpp-a", balance=PRICE + 100)
    stored = await store.store_mo([mo("smpp-a", b"one"), mo("smpp-a", b"two")])
    assert [s.charged for s in stored] == [PRICE, 0]
    assert stored[1].unpriced == UNPRICED_BALANCE
    assert (await store.get_account("smpp-a")).balance == 100  # never negative
    assert len(await store.pending_mo("smpp-a")) == 2  # both delivered all the same
    kinds = [e.kind for e in await full_journal(store, "smpp-a")]
    assert kinds.count(EntryKind.MO) == 1
    assert await store.audit() == []


async def test_bad_mo_batches_write_nothing(store: Store) -> None:
    await make_account(store, "smpp-a", balance=1000)
    with pytest.raises(UnknownAccount):
        await store.store_mo([mo("smpp-a"), mo("nobody")])
    with pytest.raises(InvalidRequest):
        await store.store_mo([mo("smpp-a", price=-1)])
    with pytest.raises(InvalidRequest):
        await store.store_mo([mo("smpp-a")], retry_window=-1)
    assert await store.pending_mo("smpp-a") == []
    assert (await store.get_account("smpp-a")).balance == 1000
    assert await store.audit() == []


async def test_two_gateways_pricing_mos_of_one_account(
    store: Store, open_peer: StoreFactory
) -> None:
    await make_account(store, "smpp-a", balance=10 * PRICE)
    peer = await open_peer()
    batches = [
        (store if i % 2 else peer).store_mo([mo("smpp-a", f"m{i}-{j}".encode()) for j in range(3)])
        for i in range(4)
    ]
    results = [s for batch in await asyncio.gather(*batches) for s in batch]
    assert sum(1 for s in results if s.charged) == 10
    assert sum(1 for s in results if s.unpriced == UNPRICED_BALANCE) == 2
    assert (await store.get_account("smpp-a")).balance == 0
    assert await store.audit() == []
