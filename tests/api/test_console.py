"""The console over real HTTP: log-in, scope, each form, refusals that change nothing."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from gateway.console.session import COOKIE, form_token
from ledger.models import credits_to_milli
from tests.api.conftest import Api, api_config, base_url, running_api, seeded


async def _login(api: Api, token: str) -> httpx.Response:
    return await api.http.post("/console/login", data={"token": token})


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


async def _balance(api: Api, system_id: str) -> int:
    account = await api.store.get_account(system_id)
    assert account is not None
    return account.balance


async def test_pages_need_a_login(api: Api) -> None:
    for path in ("/console/", "/console/accounts/smpp-shop", "/console/accounts/smpp-shop/history"):
        r = await api.http.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/console/login", path
    r = await api.http.post("/console/accounts/smpp-shop/transfer", data={"credits": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/console/login"


async def test_a_wrong_token_is_refused_and_counted(api: Api) -> None:
    r = await _login(api, "not-a-token")
    assert r.status_code == 401 and "unknown or revoked token" in r.text
    assert COOKIE not in api.http.cookies
    assert (await api.http.get("/console/")).status_code == 303


async def test_failed_logins_are_limited_like_bad_bearer_tokens(tmp_path: Path) -> None:
    async with (
        seeded(tmp_path) as s,
        running_api(api_config(s.url, auth_failures_per_minute=3), s.store) as gw,
        httpx.AsyncClient(base_url=base_url(gw), timeout=10) as http,
    ):
        answers = [
            (await http.post("/console/login", data={"token": "guess"})).status_code
            for _ in range(4)
        ]
        assert answers == [401, 401, 401, 429]
        # Blocked now, even with the right token, and the API counts the same failures.
        r = await http.post("/console/login", data={"token": s.shop_token})
        assert r.status_code == 429 and COOKIE not in http.cookies
        r = await http.get("/sms", headers={"Authorization": f"Bearer {s.shop_token}"})
        assert r.status_code == 429


async def test_login_keeps_the_token_in_a_strict_httponly_cookie(api: Api) -> None:
    r = await _login(api, api.shop_token)
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    page = await api.http.get("/console/")
    assert page.status_code == 200
    # An owner sees its own accounts, with balances, and nobody else's.
    assert "smpp-shop" in page.text and "smpp-shop2" in page.text
    assert "smpp-bank" not in page.text
    assert "100" in page.text
    r = await api.http.post("/console/logout")
    assert r.status_code == 303
    assert (await api.http.get("/console/")).status_code == 303


async def test_an_admin_sees_every_account(api: Api) -> None:
    await _login(api, api.admin_token)
    page = (await api.http.get("/console/")).text
    assert all(a in page for a in ("smpp-shop", "smpp-shop2", "smpp-bank"))


async def test_another_owners_account_is_not_found(api: Api) -> None:
    await _login(api, api.shop_token)
    r = await api.http.get("/console/accounts/smpp-bank")
    assert r.status_code == 404 and "smpp-bank" in r.text and "ops@smpp-bank" not in r.text
    csrf = form_token(api.shop_token)
    before = await _balance(api, "smpp-bank")
    r = await api.http.post(
        "/console/accounts/smpp-bank/ips", data={"csrf": csrf, "ip": "198.51.100.7"}
    )
    assert r.status_code == 404
    bank = await api.store.get_account("smpp-bank")
    assert bank is not None and bank.allowed_ips == ("127.0.0.1/32",)
    assert await _balance(api, "smpp-bank") == before


async def test_a_transfer_form_moves_credits_once(api: Api) -> None:
    await _login(api, api.shop_token)
    page = (await api.http.get("/console/accounts/smpp-shop")).text
    key = re.search(r'name="key" value="([0-9a-f]+)"', page)
    assert key and "smpp-shop2" in page
    form = {"csrf": _csrf(page), "key": key.group(1), "credits": "12.5", "target": "smpp-shop2"}
    for _ in range(2):  # the same form sent twice (a double click) moves credits once
        r = await api.http.post("/console/accounts/smpp-shop/transfer", data=form)
        assert r.status_code == 303 and "notice=" in r.headers["location"]
    assert await _balance(api, "smpp-shop") == credits_to_milli("87.5")
    assert await _balance(api, "smpp-shop2") == credits_to_milli("112.5")
    shown = await api.http.get(r.headers["location"])
    assert "12.5 credits sent to smpp-shop2" in shown.text
    assert "transfer_out" in shown.text and "87.5" in shown.text


async def test_refused_forms_write_nothing_and_say_why(api: Api) -> None:
    await _login(api, api.shop_token)
    csrf = _csrf((await api.http.get("/console/accounts/smpp-shop")).text)
    journal_before = await api.store.journal("smpp-shop", limit=100)
    cases = {
        "transfer": {"credits": "1000", "target": "smpp-shop2"},  # beyond the balance
        "ips": {"ip": "not-an-address"},
        "senders": {"ton": "x", "address": "A"},
        "recharge": {"threshold": "10", "amount": "7"},
    }
    for action, fields in cases.items():
        r = await api.http.post(
            f"/console/accounts/smpp-shop/{action}", data={"csrf": csrf, **fields}
        )
        assert r.status_code == 303 and "error=" in r.headers["location"], action
        page = await api.http.get(r.headers["location"])
        assert 'id="error"' in page.text, action
    # Across owners: the bank's account is not even visible to the shop.
    r = await api.http.post(
        "/console/accounts/smpp-shop/transfer",
        data={"csrf": csrf, "credits": "1", "target": "smpp-bank"},
    )
    assert r.status_code == 404
    account = await api.store.get_account("smpp-shop")
    assert account is not None and account.recharge is None
    assert account.allowed_ips == ("127.0.0.1/32",) and len(account.senders) == 1
    assert await api.store.journal("smpp-shop", limit=100) == journal_before
    assert await _balance(api, "smpp-shop2") == credits_to_milli("100")


async def test_a_form_without_its_token_is_refused(api: Api) -> None:
    await _login(api, api.shop_token)
    for csrf in ("", form_token(api.bank_token)):
        r = await api.http.post(
            "/console/accounts/smpp-shop/ips", data={"csrf": csrf, "ip": "198.51.100.7"}
        )
        assert r.status_code == 403 and "stale" in r.text
    account = await api.store.get_account("smpp-shop")
    assert account is not None and account.allowed_ips == ("127.0.0.1/32",)


async def test_ip_sender_and_recharge_forms_change_the_account(api: Api) -> None:
    await _login(api, api.shop_token)
    csrf = _csrf((await api.http.get("/console/accounts/smpp-shop")).text)
    steps = [
        ("ips", {"ip": "198.51.100.0/24"}),
        ("senders", {"ton": "5", "address": "NEWS"}),
        ("recharge", {"threshold": "10", "amount": "500", "daily_cap": "2"}),
    ]
    for action, fields in steps:
        r = await api.http.post(
            f"/console/accounts/smpp-shop/{action}", data={"csrf": csrf, **fields}
        )
        assert r.status_code == 303 and "notice=" in r.headers["location"], action
    account = await api.store.get_account("smpp-shop")
    assert account is not None
    assert "198.51.100.0/24" in account.allowed_ips
    assert any(s.address == "NEWS" for s in account.senders)
    assert account.recharge is not None and account.recharge.daily_cap == 2
    page = (await api.http.get("/console/accounts/smpp-shop")).text
    assert "198.51.100.0/24" in page and "NEWS" in page and "at most 2 a day" in page
    for action, fields in (
        ("ips/remove", {"ip": "198.51.100.0/24"}),
        ("senders/remove", {"ton": "5", "address": "NEWS"}),
        ("recharge/off", {}),
    ):
        r = await api.http.post(
            f"/console/accounts/smpp-shop/{action}", data={"csrf": csrf, **fields}
        )
        assert "notice=" in r.headers["location"], action
    account = await api.store.get_account("smpp-shop")
    assert account is not None and account.recharge is None
    assert "198.51.100.0/24" not in account.allowed_ips
    assert not any(s.address == "NEWS" for s in account.senders)


async def test_history_page_filters_and_refuses_bad_filters(api: Api) -> None:
    await _login(api, api.shop_token)
    r = await api.http.get("/console/accounts/smpp-shop/history")
    assert r.status_code == 200 and "No messages." in r.text
    r = await api.http.get("/console/accounts/smpp-shop/history", params={"state": "lost"})
    assert r.status_code == 400 and 'id="error"' in r.text
    r = await api.http.get("/console/accounts/smpp-shop/history", params={"since": "yesterday"})
    assert r.status_code == 400
    r = await api.http.get("/console/accounts/smpp-bank/history")
    assert r.status_code == 404


async def test_the_console_is_not_in_the_api_description(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]
    css = await api.http.get("/console/static/console.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_alert_forms_set_show_and_clear_an_alert(api: Api) -> None:
    await _login(api, api.shop_token)
    page = (await api.http.get("/console/accounts/smpp-shop")).text
    assert 'id="alerts"' in page and 'id="no-alert"' in page
    csrf = _csrf(page)
    r = await api.http.post(
        "/console/accounts/smpp-shop/alerts", data={"csrf": csrf, "below": "12.5"}
    )
    assert r.status_code == 303 and "notice=" in r.headers["location"]
    [alert] = await api.store.alerts("smpp-shop")
    assert (alert.threshold, alert.armed, alert.category) == (12_500, True, None)
    shown = (await api.http.get(r.headers["location"])).text
    assert "falls below 12.5 credits" in shown  # the notice
    assert 'id="no-alert"' not in shown and ">12.5<" in shown and "<td>armed</td>" in shown
    # Refusals: nothing written, the action's message shown on the page.
    # (A package category is accepted since credit packages exist; an unknown one is not.)
    for fields in ({"below": "0"}, {"below": "ten"}, {"below": "5", "category": "promo"}):
        r = await api.http.post("/console/accounts/smpp-shop/alerts", data={"csrf": csrf, **fields})
        assert r.status_code == 303 and "error=" in r.headers["location"], fields
        assert 'id="error"' in (await api.http.get(r.headers["location"])).text
    assert await api.store.alerts("smpp-shop") == [alert]
    # An alert on a package category: messages left in the account's packages of it.
    r = await api.http.post(
        "/console/accounts/smpp-shop/alerts",
        data={"csrf": csrf, "below": "5", "category": "marketing"},
    )
    assert "marketing+packages+fall+below+5+messages" in r.headers["location"]
    assert [a.category for a in await api.store.alerts("smpp-shop")] == [None, "marketing"]
    r = await api.http.post(
        "/console/accounts/smpp-shop/alerts/clear",
        data={"csrf": csrf, "category": "marketing"},
    )
    assert await api.store.alerts("smpp-shop") == [alert]
    # Another owner's account is not found, and its alerts are untouched.
    r = await api.http.post(
        "/console/accounts/smpp-bank/alerts", data={"csrf": csrf, "below": "50"}
    )
    assert r.status_code == 404
    assert await api.store.alerts("smpp-bank") == []
    r = await api.http.post(
        "/console/accounts/smpp-shop/alerts/clear", data={"csrf": csrf, "category": ""}
    )
    assert "notice=alert+cleared" in r.headers["location"]
    assert await api.store.alerts("smpp-shop") == []
    r = await api.http.post(
        "/console/accounts/smpp-shop/alerts/clear", data={"csrf": csrf, "category": ""}
    )
    assert "there+was+no+alert" in r.headers["location"]
    assert 'id="no-alert"' in (await api.http.get("/console/accounts/smpp-shop")).text


async def test_the_usage_page_charts_30_days_of_messages_and_credits(api: Api) -> None:
    assert (await api.http.get("/console/accounts/smpp-shop/usage")).status_code == 303
    job = {"sender": "SMPPGW", "receivers": ["33612345678", "447911123456"], "message": "hi"}
    sent = await api.http.post("/sms/smpp-shop/jobs", json=job, headers=api.as_shop)
    assert sent.json()["accepted"] == 2
    await _login(api, api.shop_token)
    account_page = (await api.http.get("/console/accounts/smpp-shop")).text
    assert 'href="/console/accounts/smpp-shop/usage"' in account_page
    r = await api.http.get("/console/accounts/smpp-shop/usage")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="usage-chart"' in page
    assert page.count('<rect class="bar"') == 30 and page.count('<circle class="dot"') == 30
    today = (await api.store.history("smpp-shop", limit=1)).items[0].created_at.date()
    assert f'data-day="{today}" data-messages="2"' in page
    assert f'data-day="{today}" data-credits="1.5"' in page
    assert '<b id="usage-messages">2</b>' in page and '<b id="usage-credits">1.5</b>' in page
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td class=\"num\">(\d+)</td>", page)
    assert len(rows) == 30 and rows[0] == (str(today), "2")  # newest first in the table
    assert all(n == "0" for _, n in rows[1:])
    other = await api.http.get("/console/accounts/smpp-bank/usage")
    assert other.status_code == 404 and "<svg" not in other.text
