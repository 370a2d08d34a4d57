"""``smppgw token create|list|revoke`` on a real SQLite ledger under tmp_path."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from ledger.models import ApiToken
from ledger.store import open_store
from tests.cli.test_cli import Cli, config_path, refused, smppgw

__all__ = ["config_path", "smppgw"]


def _stored(tmp_path: Path) -> list[ApiToken]:
    async def get() -> list[ApiToken]:
        store = await open_store(f"sqlite:///{tmp_path}/l.db")
        try:
            return await store.list_api_tokens()
        finally:
            await store.close()

    return asyncio.run(get())


def test_create_prints_the_token_once_and_stores_its_hash(smppgw: Cli, tmp_path: Path) -> None:
    result = smppgw("token", "create", "--owner", "Shop Ltd", "--note", "shop scripts")
    assert result.code == 0
    (line,) = [x for x in result.out.splitlines() if x.startswith("token: ")]
    secret = line.split()[1]
    assert secret.startswith("smppgw_")
    assert "owner 'Shop Ltd'" in result.out
    (token,) = _stored(tmp_path)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = smppgw("token", "list")
    assert token.token_id in listed.out and "owner Shop Ltd" in listed.out
    assert secret not in listed.out and token.token_hash not in listed.out


def test_admin_token_json_list_and_revoke(smppgw: Cli, tmp_path: Path) -> None:
    created = smppgw("token", "create", "--admin", "--json").json()
    token_id = created["token"]["token_id"]
    assert created["token"]["admin"] is True and created["secret"].startswith("smppgw_")
    revoked = smppgw("token", "revoke", token_id)
    assert (revoked.code, revoked.out) == (0, f"{token_id}: revoked\n")
    listed = smppgw("token", "list", "--json").json()["tokens"]
    assert listed[0]["revoked_at"] is not None
    assert "secret" not in listed[0]
    assert _stored(tmp_path)[0].revoked_at is not None


def test_refusals(smppgw: Cli) -> None:
    assert "one of the arguments --owner --admin is required" in refused(
        smppgw("token", "create"), code=2
    )
    assert "not allowed with argument" in refused(
        smppgw("token", "create", "--owner", "x", "--admin"), code=2
    )
    assert refused(smppgw("token", "revoke", "tok-none")) == "smppgw: token tok-none: no such token"
    assert refused(smppgw("token", "create", "--owner", " ")).endswith("needs a non-empty owner")
    assert smppgw("token", "list").out == "no tokens\n"
