"""Bearer tokens of the management API, over a backend: only their hashes are stored."""

from __future__ import annotations

from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Fetch
from ledger.core.base import CoreBase
from ledger.errors import TokenExists, UnknownToken
from ledger.models import ApiToken, NewApiToken
from ledger.rules.validation import validate_new_token


class TokensCore(CoreBase):
    """``TokenStore`` over a backend."""

    async def create_api_token(self, new: NewApiToken) -> ApiToken:
        """Store a token's hash and scope. Raises TokenExists, InvalidAccountData."""
        new = validate_new_token(new)
        args = (new.token_id, new.token_hash, new.owner, new.note, self._now())
        created = await self._statement(Fetch(sql.INSERT_TOKEN, args, rows.api_token))
        if not created:
            raise TokenExists(new.token_id)
        return created[0]

    async def api_token(self, token_hash: str) -> ApiToken | None:
        """The token whose SHA-256 is ``token_hash``, revoked or not; None if there is none."""
        found = await self._read(Fetch(sql.TOKEN_BY_HASH, (token_hash,), rows.api_token))
        return found[0] if found else None

    async def list_api_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, oldest first."""
        return await self._read(Fetch(sql.ALL_TOKENS, (), rows.api_token))

    async def revoke_api_token(self, token_id: str) -> ApiToken:
        """Revoke a token for good (again: no change). Raises UnknownToken."""
        args = (token_id, self._now())
        found = await self._statement(Fetch(sql.REVOKE_TOKEN, args, rows.api_token))
        if not found:
            raise UnknownToken(token_id)
        return found[0]
