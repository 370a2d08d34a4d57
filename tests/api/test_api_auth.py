"""Bearer tokens over real HTTP: missing, bad, revoked, owner on admin routes, rate limits."""

from __future__ import annotations

from pathlib import Path

import httpx

from gateway import admin
from tests.api.conftest import Api, api_config, base_url, running_api, seeded
from tests.api.test_api_accounts import error


async def test_no_token_or_a_bad_one_is_401(api: Api) -> None:
    missing = await api.http.get("/sms")
    assert "needs an API token" in error(missing, 401, "not_authenticated")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    for header in (
        "Bearer smppgw_" + "A" * 43,
        "Bearer not-even-ours",
        "Basic dXNlcjpwYXNz",
        f"Bearer {api.admin_token}x",
    ):
        bad = await api.http.get("/sms/smpp-shop", headers={"Authorization": header})
        error(bad, 401, "not_authenticated")


async def test_a_revoked_token_is_401(api: Api) -> None:
    (_, shop, _) = await admin.list_tokens(api.store)
    assert (await api.http.get("/sms", headers=api.as_shop)).status_code == 200
    await admin.revoke_token(api.store, shop.token_id)
    error(await api.http.get("/sms", headers=api.as_shop), 401, "not_authenticated")


async def test_an_owner_token_on_an_admin_route_is_403(api: Api) -> None:
    forbidden = await api.http.get("/tokens", headers=api.as_shop)
    assert "needs an admin token" in error(forbidden, 403, "forbidden")
    listed = await api.http.get("/tokens", headers=api.as_admin)
    assert listed.status_code == 200
    tokens = listed.json()["tokens"]
    assert [t["owner"] for t in tokens] == [None, "Shop Ltd", "Bank"]
    assert api.shop_token not in listed.text and "token_hash" not in listed.text


async def test_failed_attempts_are_limited_per_address(tmp_path: Path) -> None:
    async with seeded(tmp_path) as s:
        root = s.admin_token
        config = api_config(s.url, auth_failures_per_minute=3)
        async with (
            running_api(config, s.store) as gw,
            httpx.AsyncClient(base_url=base_url(gw), timeout=10) as http,
        ):
            good = {"Authorization": f"Bearer {root}"}
            assert (await http.get("/sms", headers=good)).status_code == 200
            for _ in range(3):
                bad = await http.get("/sms", headers={"Authorization": "Bearer smppgw_guess"})
                error(bad, 401, "not_authenticated")
            limited = await http.get("/sms", headers={"Authorization": "Bearer smppgw_guess"})
            assert "retry in" in error(limited, 429, "too_many_attempts")
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            # While limited, not even a good token is looked at: guessing gains nothing.
            error(await http.get("/sms", headers=good), 429, "too_many_attempts")
            # Routes that take no token are not limited.
            assert (await http.get("/healthz")).status_code == 200
