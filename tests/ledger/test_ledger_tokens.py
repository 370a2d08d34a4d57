"""Contract: API tokens, journal pages and the backlog, on every store."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import InvalidAccountData, InvalidRequest, TokenExists, UnknownToken
from ledger.models import NewApiToken, NewReceipt
from ledger.store import Store
from tests.ledger.ledger_helpers import FakeClock, make_account, request


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def test_token_create_find_list_revoke(store: Store, clock: FakeClock) -> None:
    admin = await store.create_api_token(NewApiToken("tok-a", _hash("a"), None, note="ops"))
    assert admin.is_admin and admin.note == "ops" and admin.created_at == clock.now
    assert admin.revoked_at is None
    clock.advance(seconds=1)
    owner = await store.create_api_token(NewApiToken("tok-b", _hash("b"), "Shop Ltd"))
    assert not owner.is_admin and owner.owner == "Shop Ltd"

    assert await store.api_token(_hash("b")) == owner
    assert await store.api_token(_hash("nobody")) is None
    assert [t.token_id for t in await store.list_api_tokens()] == ["tok-a", "tok-b"]

    clock.advance(seconds=5)
    revoked = await store.revoke_api_token("tok-b")
    assert revoked.revoked_at == clock.now
    clock.advance(seconds=5)
    again = await store.revoke_api_token("tok-b")
    assert again.revoked_at == revoked.revoked_at  # the first revocation stands
    assert (await store.api_token(_hash("b"))) == revoked
    with pytest.raises(UnknownToken):
        await store.revoke_api_token("tok-none")


async def test_token_refusals(store: Store) -> None:
    await store.create_api_token(NewApiToken("tok-a", _hash("a"), None))
    with pytest.raises(TokenExists):
        await store.create_api_token(NewApiToken("tok-a", _hash("other"), None))
    with pytest.raises(TokenExists):
        await store.create_api_token(NewApiToken("tok-c", _hash("a"), None))
    with pytest.raises(InvalidAccountData):
        await store.create_api_token(NewApiToken("tok-d", _hash("d"), "  "))
    with pytest.raises(InvalidRequest):
        await store.create_api_token(NewApiToken("tok e", _hash("e"), None))
    with pytest.raises(InvalidRequest):
        await store.create_api_token(NewApiToken("tok-f", "not-a-hash", None))
    assert [t.token_id for t in await store.list_api_tokens()] == ["tok-a"]


async def test_journal_pages_by_id(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.debit_batch([request(f"k{i}") for i in range(5)])
    every = await store.journal("smpp-acme", limit=100)
    assert len(every) == 6
    first = await store.journal("smpp-acme", limit=4)
    assert first == every[:4]
    rest = await store.journal("smpp-acme", limit=4, before=first[-1].id)
    assert rest == every[4:]
    assert await store.journal("smpp-acme", limit=4, before=every[-1].id) == []
    with pytest.raises(InvalidRequest):
        await store.journal("smpp-acme", before=0)


async def test_backlog(store: Store, clock: FakeClock) -> None:
    empty = await store.backlog()
    assert (empty.unforwarded, empty.oldest_unforwarded_at, empty.receipts_pending) == (0, None, 0)
    await make_account(store, balance=10_000)
    await store.debit_batch([request("k1")])
    clock.advance(seconds=3)
    await store.debit_batch([request("k2"), request("k3")])
    await store.mark_forwarded([("m-k1", "up-1")])
    await store.add_receipts([NewReceipt("smpp-acme", "m-k1", b"dlr", None, None)])
    found = await store.backlog()
    assert found.unforwarded == 2
    assert found.oldest_unforwarded_at == clock.now
    assert found.receipts_pending == 1
