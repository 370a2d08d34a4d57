"""API token actions on both stores: shown once, stored hashed, revocable, scoped."""

from __future__ import annotations

import hashlib

import pytest

from gateway import admin
from gateway.admin import views
from ledger.store import Store


async def test_create_shows_the_secret_once_and_stores_its_hash(store: Store) -> None:
    created = await admin.create_token(store, owner="Shop Ltd", note="shop's scripts")
    assert created.secret.startswith("smppgw_") and len(created.secret) > 40
    assert created.secret not in repr(created)
    assert created.token.token_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.token.owner == "Shop Ltd" and not created.token.is_admin
    listed = views.tokens_view(await admin.list_tokens(store))
    assert created.secret not in str(listed) and created.token.token_hash not in str(listed)
    assert listed["tokens"][0]["owner"] == "Shop Ltd"
    assert views.created_token_view(created)["secret"] == created.secret


async def test_authenticate_and_revoke(store: Store) -> None:
    owner = await admin.create_token(store, owner="Shop Ltd")
    root = await admin.create_token(store, admin=True)
    assert admin.scope_of(await admin.authenticate(store, owner.secret)) == admin.Scope("Shop Ltd")
    assert admin.scope_of(await admin.authenticate(store, root.secret)).is_admin
    for wrong in ("", "Bearer x", "smppgw_" + "x" * 43, owner.secret + "x"):
        with pytest.raises(admin.NotAuthenticated):
            await admin.authenticate(store, wrong)
    revoked = await admin.revoke_token(store, owner.token.token_id)
    assert revoked.revoked_at is not None
    with pytest.raises(admin.NotAuthenticated):
        await admin.authenticate(store, owner.secret)
    with pytest.raises(admin.TokenNotFound):
        await admin.revoke_token(store, "tok-none")


async def test_a_token_is_for_one_owner_or_for_everything(store: Store) -> None:
    for kwargs in ({}, {"owner": "Shop", "admin": True}, {"owner": " "}):
        with pytest.raises(admin.InvalidInput):
            await admin.create_token(store, **kwargs)  # type: ignore[arg-type]
    assert await admin.list_tokens(store) == []
