"""Messages from handsets (MO) in the ledger, on both stores: owners of numbers and
keywords, MOs kept until acknowledged, claimed by one gateway at a time, an age limit."""

from __future__ import annotations

import asyncio

import pytest

from ledger.errors import InvalidRequest, UnknownAccount
from ledger.models.mo import MoRoute, NewMo
from ledger.rules.mo import keyword_of, mo_route, owner_of
from ledger.store import Store
from tests.ledger.conftest import StoreFactory
from tests.ledger.ledger_helpers import FakeClock, make_account


def mo(system_id: str, text: bytes = b"STOP", *, claimed_by: str | None = None) -> NewMo:
    return NewMo(system_id, "default", "33612345678", "33700000001", text, claimed_by)


@pytest.mark.parametrize(
    ("number", "keyword", "expected"),
    [
        ("33700000001", "", ("number", "33700000001")),
        ("+33700000001", "", ("number", "33700000001")),
        ("", "stop", ("keyword", "STOP")),
        ("", " Promo1 ", ("keyword", "PROMO1")),
    ],
)
def test_mo_route(number: str, keyword: str, expected: tuple[str, str]) -> None:
    assert mo_route(number=number, keyword=keyword) == expected


@pytest.mark.parametrize(
    ("number", "keyword"),
    [
        ("", ""),
        ("1", "A"),
        ("12ab", ""),
        ("1" * 22, ""),
        ("", "two words"),
        ("", "é"),
        ("", "x" * 21),
    ],
)
def test_mo_route_refuses(number: str, keyword: str) -> None:
    with pytest.raises(InvalidRequest):
        mo_route(number=number, keyword=keyword)


def test_keyword_and_owner_rules() -> None:
    assert keyword_of(b"stop all messages") == "STOP"
    assert keyword_of("  \t") == ""
    assert owner_of([("keyword", "b"), ("number", "a")]) == "a"  # the number wins
    assert owner_of([("keyword", "b")]) == "b"
    assert owner_of([]) is None


async def test_owners_of_numbers_and_keywords(store: Store) -> None:
    await make_account(store, "smpp-a")
    await make_account(store, "smpp-b")
    assert await store.set_mo_route("smpp-a", number="33700000001") == MoRoute(
        "number", "33700000001", "smpp-a"
    )
    await store.set_mo_route("smpp-b", keyword="stop")
    assert await store.mo_owner("33700000001", b"STOP now") == "smpp-a"  # the number first
    assert await store.mo_owner("33799999999", b"stop now") == "smpp-b"
    assert await store.mo_owner("33799999999", b"hello") is None
    await store.set_mo_route("smpp-b", number="33700000001")  # taken over
    assert await store.mo_owner("+33700000001", b"") == "smpp-b"
    assert [(r.kind, r.value) for r in await store.mo_routes("smpp-b")] == [
        ("keyword", "STOP"),
        ("number", "33700000001"),
    ]
    assert await store.mo_routes("smpp-a") == []
    assert await store.delete_mo_route(keyword="STOP")
    assert not await store.delete_mo_route(keyword="STOP")
    with pytest.raises(UnknownAccount):
        await store.set_mo_route("nobody", keyword="x")


async def test_an_mo_is_kept_until_acknowledged(store: Store) -> None:
    await make_account(store, "smpp-a")
    [first, second] = await store.add_mo([mo("smpp-a", b"one"), mo("smpp-a", b"two")])
    claimed = await store.claim_mo("smpp-a", gateway_id="gw1", max_age=3600)
    assert [(m.id, m.pdu_body, m.claimed_by) for m in claimed] == [
        (first, b"one", "gw1"),
        (second, b"two", "gw1"),
    ]
    assert await store.claim_mo("smpp-a", gateway_id="gw2", max_age=3600) == []  # held
    await store.mo_delivered([first])
    await store.release_mo([second])
    [again] = await store.claim_mo("smpp-a", gateway_id="gw2", max_age=3600)
    assert (again.id, again.claimed_by, again.upstream) == (second, "gw2", "default")
    await store.mo_delivered([second, second])
    assert await store.pending_mo("smpp-a") == []
    with pytest.raises(UnknownAccount):
        await store.add_mo([mo("smpp-a"), mo("nobody")])
    assert await store.pending_mo("smpp-a") == []  # nothing of the failed batch


async def test_a_lease_runs_out_and_old_mos_are_never_delivered(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a")
    [old] = await store.add_mo([mo("smpp-a", b"old", claimed_by="gw1")])
    clock.advance(seconds=30)
    assert await store.claim_mo("smpp-a", gateway_id="gw2", max_age=3600) == []
    clock.advance(seconds=31)  # gw1's 60 s lease ran out
    [taken] = await store.claim_mo("smpp-a", gateway_id="gw2", max_age=3600)
    assert taken.id == old
    await store.release_mo([old])
    clock.advance(hours=2)
    assert await store.claim_mo("smpp-a", gateway_id="gw2", max_age=3600) == []  # too old
    assert [m.id for m in await store.pending_mo("smpp-a")] == [old]  # kept, not delivered


async def test_two_gateways_never_claim_the_same_mo(store: Store, open_peer: StoreFactory) -> None:
    await make_account(store, "smpp-a")
    await store.add_mo([mo("smpp-a", f"m{i}".encode()) for i in range(40)])
    peer = await open_peer()
    a = await store.claim_mo("smpp-a", gateway_id="gw1", max_age=3600, limit=25)
    b = await peer.claim_mo("smpp-a", gateway_id="gw2", max_age=3600, limit=25)
    assert len(a) == 25 and len(b) == 15
    assert not {m.id for m in a} & {m.id for m in b}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_listen_mo_on_sqlite_is_none(store: Store) -> None:
    assert await store.listen_mo(lambda system_id: None) is None


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_an_unclaimed_mo_notifies_the_other_gateways(
    store: Store, open_peer: StoreFactory
) -> None:
    await make_account(store, "smpp-mo-a")
    await make_account(store, "smpp-mo-b")
    peer = await open_peer()
    heard: asyncio.Queue[str] = asyncio.Queue()
    stop = await peer.listen_mo(heard.put_nowait)
    assert stop is not None
    heard_receipts: list[str] = []
    stop_receipts = await peer.listen_receipts(heard_receipts.append)
    assert stop_receipts is not None
    # Claimed by the storing gateway (it pushes it itself): nobody is told. Unclaimed:
    # every listener is, once per account per transaction, at commit; notifications
    # arrive in commit order, so once smpp-mo-b is heard, smpp-mo-a would have been.
    await store.add_mo([mo("smpp-mo-a", claimed_by="gw-a")])
    await store.add_mo([mo("smpp-mo-b", b"one"), mo("smpp-mo-b", b"two")])
    assert await asyncio.wait_for(heard.get(), 30) == "smpp-mo-b"
    # A retried deliver_sm stores nothing and tells nobody; a new MO tells again.
    await store.store_mo([mo("smpp-mo-b", b"one")], retry_window=600)
    await store.add_mo([mo("smpp-mo-a", b"three")])
    assert await asyncio.wait_for(heard.get(), 30) == "smpp-mo-a"
    assert heard.empty()
    assert heard_receipts == []  # its own channel: receipt listeners are not woken
    await stop()
    await stop_receipts()
