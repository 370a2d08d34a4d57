"""``/sms/{account}/alerts`` over real HTTP: set, show, clear; scoping; refusals that
change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.models.notices import BalanceAlert
from tests.api.conftest import Api
from tests.api.test_api_accounts import FOREIGN, JSON, error, snapshot


async def _alerts(api: Api) -> dict[str, list[BalanceAlert]]:
    """Every account's alerts, as the ledger holds them."""
    return {
        a.system_id: await api.store.alerts(a.system_id) for a in await api.store.list_accounts()
    }


async def test_set_show_and_clear_an_alert(api: Api) -> None:
    h = api.as_shop
    empty = await api.http.get("/sms/smpp-shop/alerts", headers=h)
    assert empty.status_code == 200
    assert empty.json() == {
        "system_id": "smpp-shop",
        "contact_email": "ops@smpp-shop.example",
        "alerts": [],
    }
    put = await api.http.put(
        "/sms/smpp-shop/alerts", json={"below": "10", "category": None}, headers=h
    )
    assert put.status_code == 200, put.text
    set_ = put.json()
    # The balance (100) is above 10: the alert starts armed.
    assert (set_["category"], set_["below"], set_["below_milli"], set_["armed"]) == (
        None,
        "10",
        10_000,
        True,
    )
    [stored] = await api.store.alerts("smpp-shop")
    assert (stored.threshold, stored.armed, stored.category) == (10_000, True, None)
    # Setting again replaces it; a JSON number is credits too, and above the balance the
    # alert starts disarmed (it does not fire for a balance that was already below).
    again = await api.http.put("/sms/smpp-shop/alerts", json={"below": 150.5}, headers=h)
    assert (again.json()["below_milli"], again.json()["armed"]) == (150_500, False)
    shown = (await api.http.get("/sms/smpp-shop/alerts", headers=h)).json()
    assert [(a["below"], a["armed"]) for a in shown["alerts"]] == [("150.5", False)]
    cleared = await api.http.delete("/sms/smpp-shop/alerts", headers=h)
    assert cleared.json() == {"system_id": "smpp-shop", "category": None, "cleared": True}
    assert await api.store.alerts("smpp-shop") == []
    # Clearing none is not an error: it says there was none.
    none = await api.http.delete("/sms/smpp-shop/alerts", headers=h)
    assert (none.status_code, none.json()["cleared"]) == (200, False)


async def test_an_admin_sets_any_owners_alert(api: Api) -> None:
    put = await api.http.put(f"/sms/{FOREIGN}/alerts", json={"below": 5}, headers=api.as_admin)
    assert put.status_code == 200, put.text
    [stored] = await api.store.alerts(FOREIGN)
    assert stored.threshold == 5_000


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("GET", {}),
        ("PUT", {"json": {"below": "10"}}),
        ("DELETE", {}),
    ],
)
async def test_another_owners_alerts_are_not_found_and_unchanged(
    api: Api, method: str, kwargs: dict[str, Any]
) -> None:
    await api.http.put(f"/sms/{FOREIGN}/alerts", json={"below": "20"}, headers=api.as_admin)
    before = (await snapshot(api), await _alerts(api))
    for account in (FOREIGN, "smpp-nobody"):
        answer = await api.http.request(
            method, f"/sms/{account}/alerts", headers=api.as_shop, **kwargs
        )
        message = error(answer, 404, "account_not_found")
        assert message == f"account {account}: no such account"
        assert "ops@" not in answer.text and "20" not in answer.text
    assert (await snapshot(api), await _alerts(api)) == before


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "code"),
    [
        ("PUT", {"content": b'{"below": ', "headers": JSON}, 400, "invalid_json"),
        ("PUT", {"json": {}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": "0"}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": -5}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": "1.0001"}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": "1e3"}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": True}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": "10", "threshold": "5"}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": "10", "category": "bulk"}}, 400, "invalid_input"),
        ("PUT", {"json": {"below": "9" * 30}}, 422, "limit_exceeded"),
        ("DELETE", {"params": {"category": "bulk"}}, 400, "invalid_input"),
    ],
)  # fmt: skip
async def test_refusals_have_their_status_and_change_nothing(
    api: Api, method: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    await api.http.put("/sms/smpp-shop/alerts", json={"below": "7"}, headers=api.as_shop)
    before = (await snapshot(api), await _alerts(api))
    headers = {**api.as_shop, **kwargs.pop("headers", {})}
    answer = await api.http.request(method, "/sms/smpp-shop/alerts", headers=headers, **kwargs)
    assert error(answer, status, code)
    assert (await snapshot(api), await _alerts(api)) == before


async def test_alerts_need_a_token(api: Api) -> None:
    for method in ("GET", "PUT", "DELETE"):
        answer = await api.http.request(method, "/sms/smpp-shop/alerts", json={"below": "1"})
        error(answer, 401, "not_authenticated")
    assert await api.store.alerts("smpp-shop") == []
