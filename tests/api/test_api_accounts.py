"""``/sms/...`` over real HTTP: every endpoint, scoping, refusals, and nothing changed by one."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.models import Account
from tests.api.conftest import Api

FOREIGN = "smpp-bank"
JSON = {"Content-Type": "application/json"}


def error(response: Any, status: int, code: str) -> str:
    """The message of an error answer, after checking its status, shape and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    return message


async def snapshot(api: Api) -> tuple[list[Account], int, int]:
    """Everything a refused request must leave as it was."""
    accounts = await api.store.list_accounts()
    entries = 0
    for a in accounts:
        entries += len(await api.store.journal(a.system_id))
    return accounts, entries, len(await api.store.list_api_tokens())


async def test_list_shows_the_accounts_a_token_sees(api: Api) -> None:
    everything = await api.http.get("/sms", headers=api.as_admin)
    assert [a["system_id"] for a in everything.json()["accounts"]] == [
        "smpp-bank",
        "smpp-shop",
        "smpp-shop2",
    ]
    mine = await api.http.get("/sms", headers=api.as_shop)
    assert [a["system_id"] for a in mine.json()["accounts"]] == ["smpp-shop", "smpp-shop2"]
    assert "password_hash" not in mine.text


async def test_get_account(api: Api) -> None:
    got = await api.http.get("/sms/smpp-shop", headers=api.as_shop)
    assert got.status_code == 200
    body = got.json()
    assert (body["balance"], body["balance_milli"]) == ("100", 100_000)
    assert (body["status"], body["owner"], body["contact_email"]) == (
        "active",
        "Shop Ltd",
        "ops@smpp-shop.example",
    )
    assert (body["recharge"], body["throughput"], body["max_binds"], body["binds"]) == (
        None,
        0,
        2,
        [],
    )


async def test_ips(api: Api) -> None:
    h = api.as_shop
    listed = await api.http.get("/sms/smpp-shop/ips", headers=h)
    assert listed.json() == {"system_id": "smpp-shop", "allowed_ips": ["127.0.0.1/32"]}
    added = await api.http.post(
        "/sms/smpp-shop/ips", json={"ip": "203.0.113.7/24", "normalise": True}, headers=h
    )
    assert added.status_code == 201
    assert added.json()["allowed_ips"] == ["127.0.0.1/32", "203.0.113.0/24"]
    removed = await api.http.delete("/sms/smpp-shop/ips", params={"ip": "127.0.0.1"}, headers=h)
    assert removed.json()["allowed_ips"] == ["203.0.113.0/24"]
    assert (await api.store.get_account("smpp-shop")).allowed_ips == ("203.0.113.0/24",)


async def test_senders(api: Api) -> None:
    h = api.as_shop
    listed = await api.http.get("/sms/smpp-shop/senders", headers=h)
    assert listed.json()["senders"] == [{"ton": 5, "npi": 0, "address": "SMPPGW"}]
    body = {"ton": 1, "address": "33612345678"}
    added = await api.http.post("/sms/smpp-shop/senders", json=body, headers=h)
    assert added.status_code == 201
    assert added.json()["senders"][1] == {"ton": 1, "npi": 1, "address": "33612345678"}
    removed = await api.http.delete(
        "/sms/smpp-shop/senders", params={"ton": 5, "address": "SMPPGW"}, headers=h
    )
    assert removed.json()["senders"] == [{"ton": 1, "npi": 1, "address": "33612345678"}]


async def test_recharge(api: Api) -> None:
    h = api.as_shop
    body = {"threshold": 10, "amount": "250", "daily_cap": 2}
    put = await api.http.put("/sms/smpp-shop/recharge", json=body, headers=h)
    assert put.status_code == 200, put.text
    assert put.json()["recharge"] == {
        "threshold": "10",
        "threshold_milli": 10_000,
        "amount": "250",
        "amount_milli": 250_000,
        "daily_cap": 2,
    }
    account = await api.http.get("/sms/smpp-shop", headers=h)
    assert account.json()["recharge"]["amount"] == "250"
    off = await api.http.delete("/sms/smpp-shop/recharge", headers=h)
    assert off.json() == {"system_id": "smpp-shop", "recharge": None}


async def test_journal_pages(api: Api) -> None:
    from gateway import admin

    for i in range(4):
        await admin.add_credit(api.store, "smpp-shop", 1000, key=f"k{i}")
    h = api.as_shop
    first = (await api.http.get("/sms/smpp-shop/journal?limit=3", headers=h)).json()
    assert first["balance"] == "104"
    assert [e["idempotency_key"] for e in first["journal"]] == ["k3", "k2", "k1"]
    nxt = first["next_before"]
    second = (await api.http.get(f"/sms/smpp-shop/journal?limit=3&before={nxt}", headers=h)).json()
    assert [e["idempotency_key"] for e in second["journal"]] == ["k0", "seed:smpp-shop"]
    assert second["next_before"] is None


async def test_password_reset_without_mail_is_refused_and_changes_nothing(api: Api) -> None:
    before = await snapshot(api)
    answer = await api.http.post("/sms/smpp-shop/password", headers=api.as_shop)
    assert "outbound mail is not configured" in error(answer, 422, "mail_not_configured")
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/sms/{a}", {}),
        ("GET", "/sms/{a}/ips", {}),
        ("POST", "/sms/{a}/ips", {"json": {"ip": "192.0.2.1"}}),
        ("DELETE", "/sms/{a}/ips", {"params": {"ip": "127.0.0.1"}}),
        ("GET", "/sms/{a}/senders", {}),
        ("POST", "/sms/{a}/senders", {"json": {"ton": 5, "address": "Evil"}}),
        ("DELETE", "/sms/{a}/senders", {"params": {"ton": 5, "address": "SMPPGW"}}),
        ("POST", "/sms/{a}/password", {}),
        ("GET", "/sms/{a}/journal", {}),
        ("PUT", "/sms/{a}/recharge", {"json": {"threshold": 1, "amount": 100}}),
        ("DELETE", "/sms/{a}/recharge", {}),
    ],
)
async def test_another_owners_account_is_not_found_and_unchanged(
    api: Api, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    before = await snapshot(api)
    foreign = await api.http.request(method, path.format(a=FOREIGN), headers=api.as_shop, **kwargs)
    unknown = await api.http.request(
        method, path.format(a="smpp-nobody"), headers=api.as_shop, **kwargs
    )
    # Nothing tells a foreign account from one that does not exist, but its name.
    assert error(foreign, 404, "account_not_found") == "account smpp-bank: no such account"
    assert error(unknown, 404, "account_not_found") == "account smpp-nobody: no such account"
    assert "Bank" not in foreign.text and "100" not in foreign.text
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("POST", "/sms/smpp-shop/ips", {"content": b"{not json", "headers": JSON}, 400,
         "invalid_json"),
        ("POST", "/sms/smpp-shop/ips", {"content": b"ip=1.2.3.4"}, 400, "invalid_input"),
        ("POST", "/sms/smpp-shop/ips", {"json": {"ip": "300.1.1.1"}}, 400, "invalid_input"),
        ("POST", "/sms/smpp-shop/ips", {"json": {"cidr": "1.2.3.4"}}, 400, "invalid_input"),
        ("POST", "/sms/smpp-shop/ips", {"json": ["1.2.3.4"]}, 400, "invalid_input"),
        ("DELETE", "/sms/smpp-shop/ips", {"params": {"ip": "10.0.0.0/8"}}, 400, "invalid_input"),
        ("POST", "/sms/smpp-shop/senders", {"json": {"ton": 2, "address": "x"}}, 400,
         "invalid_input"),
        ("POST", "/sms/smpp-shop/senders", {"json": {"ton": "5", "address": "x"}}, 400,
         "invalid_input"),
        ("DELETE", "/sms/smpp-shop/senders", {"params": {"ton": 5, "address": "Nope"}}, 400,
         "invalid_input"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": 1, "amount": 300}}, 422,
         "recharge_amount_not_allowed"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": -1, "amount": 100}}, 400,
         "invalid_input"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": 1, "amount": 1e21}}, 400,
         "invalid_input"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": True, "amount": 100}}, 400,
         "invalid_input"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": 1, "amount": 100,
                                                      "daily_cap": 0}}, 400, "invalid_input"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": "9" * 30, "amount": 100}}, 422,
         "limit_exceeded"),
        ("PUT", "/sms/smpp-shop/recharge", {"json": {"threshold": 1, "amount": 100,
                                                      "daily_cap": 2**40}}, 400, "invalid_input"),
        ("GET", "/sms/smpp-shop/journal", {"params": {"limit": 0}}, 400, "invalid_input"),
        ("GET", "/sms/smpp-shop/journal", {"params": {"before": "x"}}, 400, "invalid_input"),
        ("GET", "/sms/nope%00x", {}, 404, "account_not_found"),
        ("GET", "/nowhere", {}, 404, "not_found"),
        ("PATCH", "/sms/smpp-shop", {}, 405, "method_not_allowed"),
    ],
)  # fmt: skip
async def test_refusals_have_their_status_and_change_nothing(
    api: Api, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    before = await snapshot(api)
    headers = {**api.as_shop, **kwargs.pop("headers", {})}
    answer = await api.http.request(method, path, headers=headers, **kwargs)
    assert error(answer, status, code)
    assert await snapshot(api) == before
