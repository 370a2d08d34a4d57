"""``/sms/{account}/packages`` over real HTTP: buy, list, show; a job drawing on a
package; scoping; refusals that change nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.config import PackagesConfig
from tests.api.conftest import Api, api_config, running_api, seeded
from tests.api.test_api_accounts import FOREIGN, JSON, error, snapshot
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread

PATH = "/sms/smpp-shop/packages"


async def _packages(api: Api) -> dict[str, list[Any]]:
    """Every account's packages, as the ledger holds them."""
    return {
        a.system_id: await api.store.packages(a.system_id) for a in await api.store.list_accounts()
    }


async def test_buy_list_and_show_a_package(api: Api) -> None:
    h = {**api.as_shop, "Idempotency-Key": "p-1"}
    body = {"category": "verification", "quantity": 1000, "name": "codes"}
    bought = await api.http.post(PATH, json=body, headers=h)
    assert bought.status_code == 200, bought.text
    p = bought.json()
    assert p["package_id"].startswith("PKG")
    assert (p["name"], p["category"], p["total"], p["remaining"], p["status"]) == (
        "codes",
        "verification",
        "1000",
        "1000",
        "valid",
    )
    assert p["remaining_milli"] == 1_000_000
    # The retry with the key answers the first package and buys nothing more.
    again = await api.http.post(PATH, json=body, headers=h)
    assert again.json()["package_id"] == p["package_id"]
    assert len(await api.store.packages("smpp-shop")) == 1
    # The balance in credits did not move: a package is bought outside the balance.
    assert (await api.store.get_account("smpp-shop")).balance == 100_000
    listed = (await api.http.get(PATH, headers=api.as_shop)).json()
    assert listed["remaining"][0] == {
        "category": "verification",
        "remaining": "1000",
        "remaining_milli": 1_000_000,
    }
    assert [x["package_id"] for x in listed["packages"]] == [p["package_id"]]
    assert listed["next_before"] is None
    shown = await api.http.get(f"{PATH}/{p['package_id']}", headers=api.as_shop)
    assert shown.status_code == 200, shown.text
    [entry] = shown.json()["entries"]
    assert (entry["kind"], entry["amount"], entry["remaining_after"]) == ("package", "1000", "1000")


async def test_a_job_draws_on_the_package_of_its_category(api: Api) -> None:
    h = api.as_shop
    await api.http.post(PATH, json={"category": "verification", "quantity": 100}, headers=h)
    await api.http.post(PATH, json={"category": "marketing", "quantity": 100}, headers=h)
    body = {
        "sender": "SMPPGW",
        "receivers": ["+33612345678"],
        "message": "Your code is 1234",
        "category": "marketing",
    }
    sent = await api.http.post("/sms/smpp-shop/jobs", json=body, headers=h)
    assert sent.status_code == 200, sent.text
    left = {
        x["category"]: x["remaining_milli"]
        for x in (await api.http.get(PATH, headers=h)).json()["remaining"]
    }
    assert left == {"verification": 100_000, "marketing": 99_000, "general": 0}
    assert (await api.store.get_account("smpp-shop")).balance == 100_000
    [message] = sent.json()["messages"]
    outgoing = (await api.http.get("/sms/smpp-shop/outgoing", headers=h)).json()
    [item] = [m for m in outgoing["messages"] if m["message_id"] == message["message_id"]]
    [drawn] = item["drawn_from"]
    assert drawn["source"].startswith("PKG") and drawn["amount"] == "1"
    bad = await api.http.post("/sms/smpp-shop/jobs", json={**body, "category": "bulk"}, headers=h)
    error(bad, 400, "invalid_input")


async def test_paging_through_purchase_records(api: Api) -> None:
    for n in range(3):
        await api.http.post(
            PATH,
            json={"category": "general", "quantity": 100, "name": f"p{n}"},
            headers=api.as_shop,
        )
    first = (await api.http.get(PATH, params={"limit": 2}, headers=api.as_shop)).json()
    assert [p["name"] for p in first["packages"]] == ["p2", "p1"]
    rest = await api.http.get(
        PATH, params={"limit": 2, "before": first["next_before"]}, headers=api.as_shop
    )
    assert [p["name"] for p in rest.json()["packages"]] == ["p0"]
    assert rest.json()["next_before"] is None


async def test_another_owners_packages_are_not_found(api: Api) -> None:
    foreign = await api.http.post(
        f"/sms/{FOREIGN}/packages",
        json={"category": "general", "quantity": 100},
        headers=api.as_admin,
    )
    assert foreign.status_code == 200, foreign.text
    pid = foreign.json()["package_id"]
    before = (await snapshot(api), await _packages(api))
    for method, path, kwargs in (
        ("GET", f"/sms/{FOREIGN}/packages", {}),
        ("POST", f"/sms/{FOREIGN}/packages", {"json": {"category": "general", "quantity": 100}}),
        ("GET", f"/sms/{FOREIGN}/packages/{pid}", {}),
    ):
        answer = await api.http.request(method, path, headers=api.as_shop, **kwargs)
        error(answer, 404, "account_not_found")
    # Someone else's package under one's own account is no package of it.
    answer = await api.http.get(f"{PATH}/{pid}", headers=api.as_shop)
    error(answer, 404, "package_not_found")
    error(await api.http.get(f"{PATH}/PKG000", headers=api.as_shop), 404, "package_not_found")
    assert (await snapshot(api), await _packages(api)) == before


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b'{"category": ', "headers": JSON}, 400, "invalid_json"),
        ({"json": {}}, 400, "invalid_input"),
        ({"json": {"category": "general"}}, 400, "invalid_input"),
        ({"json": {"category": "bulk", "quantity": 100}}, 400, "invalid_input"),
        ({"json": {"category": "general", "quantity": "100"}}, 400, "invalid_input"),
        ({"json": {"category": "general", "quantity": 100, "price": 1}}, 400, "invalid_input"),
        ({"json": {"category": "general", "quantity": 150}}, 422, "purchase_refused"),
        ({"json": {"category": "general", "quantity": 50}}, 422, "purchase_refused"),
        ({"json": {"category": "general", "quantity": 10**30}}, 422, "purchase_refused"),
    ],
)  # fmt: skip
async def test_refusals_have_their_status_and_change_nothing(
    api: Api, kwargs: dict[str, Any], status: int, code: str
) -> None:
    before = (await snapshot(api), await _packages(api))
    headers = {**api.as_shop, **kwargs.pop("headers", {})}
    answer = await api.http.request("POST", PATH, headers=headers, **kwargs)
    assert error(answer, status, code)
    assert (await snapshot(api), await _packages(api)) == before


async def test_a_key_reused_for_another_purchase_conflicts(api: Api) -> None:
    h = {**api.as_shop, "Idempotency-Key": "k"}
    await api.http.post(PATH, json={"category": "general", "quantity": 100}, headers=h)
    other = await api.http.post(PATH, json={"category": "general", "quantity": 200}, headers=h)
    error(other, 409, "idempotency_conflict")
    assert len(await api.store.packages("smpp-shop")) == 1


async def test_packages_need_a_token(api: Api) -> None:
    for method in ("GET", "POST"):
        answer = await api.http.request(method, PATH, json={"category": "general", "quantity": 100})
        error(answer, 401, "not_authenticated")
    assert await api.store.packages("smpp-shop") == []


async def test_an_smpp_service_type_maps_to_its_category(tmp_path: Path) -> None:
    """Over a real socket: service_type OTP is a verification message ([packages]
    service_types); one without a mapped service_type has the account's default."""
    async with seeded(tmp_path) as s:
        config = replace(
            api_config(s.url), packages=PackagesConfig(service_types={"OTP": "verification"})
        )
        await s.store.buy_package("smpp-shop", "verification", 100, idempotency_key="v")
        async with running_api(config, s.store) as gw:

            def over_smpp() -> list[int]:
                esme = Esme(gw.endpoints.port)
                try:
                    assert esme.bind("tx", "smpp-shop", PASSWORD) == 0
                    return [
                        esme.submit(b"code 1234", service_type="OTP")[0],
                        esme.submit(b"code 5678", service_type="otp")[0],
                        esme.submit(b"news", service_type="CMT")[0],
                    ]
                finally:
                    esme.close()

            assert await in_thread(over_smpp) == [0, 0, 0]
        totals = await s.store.package_totals("smpp-shop")
        assert totals["verification"] == 98_000  # the two OTP messages
        assert (await s.store.get_account("smpp-shop")).balance == 100_000 - 1_000  # CMT
        assert await s.store.audit() == []
