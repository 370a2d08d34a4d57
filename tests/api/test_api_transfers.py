"""``POST /sms/{account}/transferCredits`` over real HTTP: the admin transfer action.

Each refusal has its status and code and leaves every balance and the journal as they
were; an ``Idempotency-Key`` makes a retry (or ten at once) move the credits once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway import admin
from ledger.models import AccountStatus
from tests.api.conftest import Api
from tests.api.test_api_accounts import error, snapshot

PATH = "/sms/smpp-shop/transferCredits"


async def balances(api: Api) -> dict[str, int]:
    """Every account's balance, in milli-credits."""
    return {a.system_id: a.balance for a in await api.store.list_accounts()}


async def test_a_transfer_moves_credits_between_one_owners_accounts(api: Api) -> None:
    body = {"credits": 12.5, "smsAccountTarget": "smpp-shop2"}
    answer = await api.http.post(PATH, json=body, headers=api.as_shop)
    assert answer.status_code == 200, answer.text
    moved = answer.json()
    assert (moved["source"], moved["target"], moved["amount"], moved["amount_milli"]) == (
        "smpp-shop",
        "smpp-shop2",
        "12.5",
        12_500,
    )
    assert (moved["source_balance"], moved["target_balance"]) == ("87.5", "112.5")
    assert moved["idempotency_key"].startswith("api:")  # a fresh key, naming the API
    assert [e["amount_milli"] for e in moved["entries"]] == [-12_500, 12_500]
    assert await balances(api) == {
        "smpp-bank": 100_000,
        "smpp-shop": 87_500,
        "smpp-shop2": 112_500,
    }
    newest = (await api.store.journal("smpp-shop2", limit=1))[0]
    assert (newest.amount, newest.counter_account) == (12_500, "smpp-shop")


async def test_credits_as_a_decimal_string(api: Api) -> None:
    body = {"credits": "0.001", "smsAccountTarget": "smpp-shop2"}
    answer = await api.http.post(PATH, json=body, headers=api.as_shop)
    assert answer.json()["amount_milli"] == 1
    assert (await balances(api))["smpp-shop"] == 99_999


async def test_a_retry_with_the_same_key_moves_nothing_more(api: Api) -> None:
    headers = {**api.as_shop, "Idempotency-Key": "order-42"}
    body = {"credits": 10, "smsAccountTarget": "smpp-shop2"}
    first = await api.http.post(PATH, json=body, headers=headers)
    again = await api.http.post(PATH, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["idempotency_key"] == "api:transfer:smpp-shop:order-42"
    assert again.json()["entries"] == first.json()["entries"]
    assert (await balances(api))["smpp-shop"] == 90_000

    # The same key with another body is a conflict, and moves nothing.
    before = await snapshot(api)
    other = await api.http.post(
        PATH, json={"credits": 11, "smsAccountTarget": "smpp-shop2"}, headers=headers
    )
    assert "order-42" in error(other, 409, "idempotency_conflict")
    assert await snapshot(api) == before


async def test_ten_concurrent_retries_move_the_credits_once(api: Api) -> None:
    headers = {**api.as_shop, "Idempotency-Key": "burst"}
    body = {"credits": 5, "smsAccountTarget": "smpp-shop2"}
    answers = await asyncio.gather(
        *(api.http.post(PATH, json=body, headers=headers) for _ in range(10))
    )
    assert [a.status_code for a in answers] == [200] * 10
    assert len({a.json()["entries"][0]["id"] for a in answers}) == 1
    assert await balances(api) == {
        "smpp-bank": 100_000,
        "smpp-shop": 95_000,
        "smpp-shop2": 105_000,
    }


async def test_a_key_is_per_source_account(api: Api) -> None:
    headers = {**api.as_shop, "Idempotency-Key": "k"}
    a = await api.http.post(
        PATH, json={"credits": 1, "smsAccountTarget": "smpp-shop2"}, headers=headers
    )
    b = await api.http.post(
        "/sms/smpp-shop2/transferCredits",
        json={"credits": 2, "smsAccountTarget": "smpp-shop"},
        headers=headers,
    )
    assert a.status_code == b.status_code == 200, b.text
    assert (await balances(api))["smpp-shop"] == 101_000


@pytest.mark.parametrize(
    ("account", "body", "headers", "status", "code"),
    [
        ("smpp-shop", {"credits": 100.001, "smsAccountTarget": "smpp-shop2"}, {}, 409,
         "insufficient_credit"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-shop"}, {}, 422, "same_account"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-bank"}, {"admin": True}, 422,
         "different_owners"),
        ("smpp-shop", {"credits": 0, "smsAccountTarget": "smpp-shop2"}, {}, 422,
         "invalid_amount"),
        ("smpp-shop", {"credits": -1, "smsAccountTarget": "smpp-shop2"}, {}, 422,
         "invalid_amount"),
        ("smpp-shop", {"credits": "1.0001", "smsAccountTarget": "smpp-shop2"}, {}, 422,
         "invalid_amount"),
        ("smpp-shop", {"credits": "1e3", "smsAccountTarget": "smpp-shop2"}, {}, 422,
         "invalid_amount"),
        ("smpp-shop", {"credits": 1e21, "smsAccountTarget": "smpp-shop2"}, {}, 422,
         "invalid_amount"),
        ("smpp-shop", {"credits": True, "smsAccountTarget": "smpp-shop2"}, {}, 400,
         "invalid_input"),
        ("smpp-shop", {"smsAccountTarget": "smpp-shop2"}, {}, 400, "invalid_input"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-shop2", "note": "x"}, {}, 400,
         "invalid_input"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-shop2"},
         {"Idempotency-Key": "two words"}, 400, "invalid_input"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-shop2"},
         {"Idempotency-Key": "k" * 129}, 400, "invalid_input"),
        ("smpp-bank", {"credits": 1, "smsAccountTarget": "smpp-shop"}, {}, 404,
         "account_not_found"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-bank"}, {}, 404,
         "account_not_found"),
        ("smpp-shop", {"credits": 1, "smsAccountTarget": "smpp-nobody"}, {}, 404,
         "account_not_found"),
    ],
)  # fmt: skip
async def test_each_refusal_has_its_status_and_moves_nothing(
    api: Api,
    account: str,
    body: dict[str, Any],
    headers: dict[str, Any],
    status: int,
    code: str,
) -> None:
    token = api.as_admin if headers.pop("admin", False) else api.as_shop
    before = await snapshot(api)
    answer = await api.http.post(
        f"/sms/{account}/transferCredits", json=body, headers={**token, **headers}
    )
    message = error(answer, status, code)
    assert message
    if status == 404:  # never a word of the foreign account but its name
        assert "Bank" not in answer.text and "100" not in answer.text
    assert await snapshot(api) == before


@pytest.mark.parametrize("inactive", ["smpp-shop", "smpp-shop2"])
async def test_an_inactive_account_is_refused(api: Api, inactive: str) -> None:
    await admin.set_status(api.store, inactive, AccountStatus.DISABLED)
    before = await snapshot(api)
    answer = await api.http.post(
        PATH, json={"credits": 1, "smsAccountTarget": "smpp-shop2"}, headers=api.as_shop
    )
    assert f"account {inactive} is disabled" in error(answer, 422, "account_inactive")
    assert await snapshot(api) == before
