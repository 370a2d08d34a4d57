"""``PUT /sms/{account}``: what ``smppgw account set`` changes, over real HTTP.

An owner token may change the contact, the default category and the pinned client
certificate; the owner, throughput and max binds are the operator's (403 for an owner
token, nothing changed).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_api_accounts import error, snapshot


async def test_an_owner_changes_contact_and_category(api: Api) -> None:
    body = {"contact_email": "new@shop.example", "default_category": "marketing"}
    answer = await api.http.put("/sms/smpp-shop", json=body, headers=api.as_shop)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert (shown["system_id"], shown["contact_email"], shown["default_category"]) == (
        "smpp-shop",
        "new@shop.example",
        "marketing",
    )
    stored = await api.store.get_account("smpp-shop")
    assert (stored.contact_email, stored.default_category.value) == (
        "new@shop.example",
        "marketing",
    )
    # What was not given stays as it was.
    assert (stored.owner, stored.max_binds, stored.throughput) == ("Shop Ltd", 2, 0)
    again = (await api.http.get("/sms/smpp-shop", headers=api.as_shop)).json()
    assert again["contact_email"] == "new@shop.example"


async def test_an_admin_changes_capacity_and_owner(api: Api) -> None:
    body = {"throughput": 25, "max_binds": 5, "owner": "Bank"}
    answer = await api.http.put("/sms/smpp-shop2", json=body, headers=api.as_admin)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["throughput"], answer.json()["max_binds"]) == (25, 5)
    stored = await api.store.get_account("smpp-shop2")
    assert (stored.owner, stored.throughput, stored.max_binds) == ("Bank", 25, 5)
    # The account now belongs to Bank: Shop Ltd's token no longer sees it.
    gone = await api.http.get("/sms/smpp-shop2", headers=api.as_shop)
    error(gone, 404, "account_not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"throughput": 100},
        {"max_binds": 10},
        {"owner": "Shop Ltd"},
        {"contact_email": "x@shop.example", "max_binds": 3},
    ],
)
async def test_an_owner_token_sending_an_admin_field_is_forbidden(
    api: Api, body: dict[str, Any]
) -> None:
    before = await snapshot(api)
    answer = await api.http.put("/sms/smpp-shop", json=body, headers=api.as_shop)
    assert "needs an admin token" in error(answer, 403, "forbidden")
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid_input"),
        ({"contact_email": None}, 400, "invalid_input"),
        ({"default_category": "spam"}, 400, "invalid_input"),
        ({"contact_email": "not an address"}, 400, "invalid_input"),
        ({"contact_email": 7}, 400, "invalid_input"),
        ({"throughput": -1}, 400, "invalid_input"),
        ({"throughput": 2**40}, 400, "invalid_input"),
        ({"max_binds": 0}, 400, "invalid_input"),
        ({"max_binds": "3"}, 400, "invalid_input"),
        ({"status": "disabled"}, 400, "invalid_input"),
    ],
)
async def test_bad_changes_are_refused_and_change_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    before = await snapshot(api)
    answer = await api.http.put("/sms/smpp-shop", json=body, headers=api.as_admin)
    assert error(answer, status, code)
    assert await snapshot(api) == before


async def test_another_owners_account_is_not_found_even_for_an_admin_field(api: Api) -> None:
    before = await snapshot(api)
    for body in ({"contact_email": "x@evil.example"}, {"throughput": 1}):
        foreign = await api.http.put("/sms/smpp-bank", json=body, headers=api.as_shop)
        assert error(foreign, 404, "account_not_found") == "account smpp-bank: no such account"
    unknown = await api.http.put("/sms/smpp-nobody", json={"throughput": 1}, headers=api.as_admin)
    error(unknown, 404, "account_not_found")
    assert await snapshot(api) == before


async def test_an_owner_pins_and_unpins_a_client_certificate(api: Api) -> None:
    pin = ":".join(["AB"] * 32)
    body = {"client_cert_sha256": pin}
    answer = await api.http.put("/sms/smpp-shop", json=body, headers=api.as_shop)
    assert answer.status_code == 200, answer.text
    assert answer.json()["client_cert_sha256"] == "ab" * 32
    assert (await api.store.get_account("smpp-shop")).client_cert_sha256 == "ab" * 32
    bad = await api.http.put(
        "/sms/smpp-shop", json={"client_cert_sha256": "abc"}, headers=api.as_shop
    )
    assert "not a SHA-256 in hex" in error(bad, 400, "invalid_input")
    assert (await api.store.get_account("smpp-shop")).client_cert_sha256 == "ab" * 32
    cleared = await api.http.put(
        "/sms/smpp-shop", json={"client_cert_sha256": ""}, headers=api.as_shop
    )
    assert cleared.json()["client_cert_sha256"] == ""


async def test_an_admin_sets_an_accounts_own_limits_and_an_owner_may_not(api: Api) -> None:
    body = {"submit_window": 4, "max_session_age_s": 3600}
    before = await snapshot(api)
    forbidden = await api.http.put("/sms/smpp-shop", json=body, headers=api.as_shop)
    assert forbidden.status_code == 403, forbidden.text
    assert await snapshot(api) == before
    answer = await api.http.put("/sms/smpp-shop", json=body, headers=api.as_admin)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["submit_window"], answer.json()["max_session_age_s"]) == (4, 3600)
    account = await api.store.get_account("smpp-shop")
    assert (account.submit_window, account.max_session_age_s) == (4, 3600)
    bad = await api.http.put("/sms/smpp-shop", json={"submit_window": -5}, headers=api.as_admin)
    assert "-1 for the gateway's default" in error(bad, 400, "invalid_input")
    back = await api.http.put("/sms/smpp-shop", json={"submit_window": -1}, headers=api.as_admin)
    assert (back.json()["submit_window"], back.json()["max_session_age_s"]) == (None, 3600)
