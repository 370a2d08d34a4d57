"""API token actions: create (shown once), list, revoke, and authenticate a bearer.

A token is 32 random bytes (256 bits, URL-safe base64 after the ``smppgw_`` prefix that
lets secret scanners and people recognise it). Only its SHA-256 is stored. A fast hash
is right here, unlike for passwords: scrypt is slow so that guessing a *low-entropy*
secret from its hash is expensive, but no guessing reaches a 256-bit random value, so
the hash only has to be one-way, and a fast one lets every API request authenticate in
microseconds. Lookup is by hash, so the comparison happens inside the database's index,
on a value an attacker cannot steer towards a stored one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from gateway.admin.errors import InvalidInput, NotAuthenticated, action
from gateway.admin.scope import Scope
from ledger.errors import TokenExists
from ledger.models import ApiToken, NewApiToken
from ledger.store import TokenStore

#: Every token starts with this, so a leaked one is recognisable for what it is.
TOKEN_PREFIX = "smppgw_"  # noqa: S105 — a public marker every token starts with
#: Random bytes in a token.
TOKEN_BYTES = 32
#: Attempts at a fresh token id (48 random bits: a clash is a curiosity, not a failure).
_ID_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A new token: its record, and the token itself, shown this once and never again."""

    token: ApiToken
    secret: str = field(repr=False)


def token_hash(secret: str) -> str:
    """The stored form of a token: SHA-256, lower-case hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def scope_of(token: ApiToken) -> Scope:
    """What a token may see: every account (admin) or its owner's."""
    return Scope(token.owner)


@action
async def create_token(
    store: TokenStore, *, owner: str | None = None, admin: bool = False, note: str = ""
) -> CreatedToken:
    """A new token for ``owner``'s accounts, or for everything with ``admin``; exactly one."""
    if admin == (owner is not None):
        raise InvalidInput("a token is for one owner (--owner O) or for everything (--admin)")
    if owner is not None and not owner.strip():
        raise InvalidInput("an owner token needs a non-empty owner")
    for attempt in range(1, _ID_ATTEMPTS + 1):
        secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        new = NewApiToken(f"tok-{secrets.token_hex(6)}", token_hash(secret), owner, note)
        try:
            return CreatedToken(await store.create_api_token(new), secret)
        except TokenExists:
            if attempt == _ID_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


@action
async def list_tokens(store: TokenStore) -> list[ApiToken]:
    """Every token (revoked ones too), oldest first; no secret is part of any."""
    return await store.list_api_tokens()


@action
async def revoke_token(store: TokenStore, token_id: str) -> ApiToken:
    """Revoke a token for good; a request with it is refused from now on."""
    return await store.revoke_api_token(token_id)


@action
async def authenticate(store: TokenStore, secret: str) -> ApiToken:
    """The live token ``secret`` is; :class:`NotAuthenticated` if unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("not an smppgw API token")
    token = await store.api_token(token_hash(secret))
    if token is None or token.revoked_at is not None:
        raise NotAuthenticated("unknown or revoked token")
    return token
