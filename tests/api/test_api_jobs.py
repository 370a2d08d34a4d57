"""``POST /sms/{account}/jobs``: sending over HTTP through the gateway's own submit path.

Over real HTTP against a running gateway with the built-in simulator as its upstream:
each receiver is checked, priced and debited as a submit_sm is, then forwarded; refusals
are per receiver; an ``Idempotency-Key`` charges a job once however often it is sent;
SMPP and HTTP draw on one balance. One test runs a real ``smppgw serve`` process.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import admin
from gateway.api.app import create_app
from gateway.api.context import ApiContext
from gateway.api.ratelimit import FailureLimiter
from gateway.api.server import ApiServer
from gateway.config import ApiConfig
from gateway.observability.metrics import Metrics
from tests.api.conftest import Api, seeded
from tests.api.http_sink import http_sink
from tests.api.test_api_accounts import error, snapshot
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, TARIFF, in_thread
from tests.integration.procs import GatewayProcess, free_port

PATH = "/sms/smpp-shop/jobs"
#: 1 credit a segment (France) and 0.5 (the UK), in the shipped tariff.
FRANCE, UK = "33612345678", "447911123456"


def job(*receivers: str, **more: Any) -> dict[str, Any]:
    """A job body from the account's registered sender."""
    return {"sender": "SMPPGW", "receivers": list(receivers), "message": "hello", **more}


async def balance(api: Api, system_id: str = "smpp-shop") -> int:
    """The account's balance in milli-credits."""
    return (await api.store.get_account(system_id)).balance


async def forwarded(api: Api, message_ids: list[str]) -> dict[str, str | None]:
    """The upstream id of each message once the forwarder has sent them (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        page = await api.store.history("smpp-shop", limit=1000)
        ups = {h.message_id: h.upstream_id for h in page.items if h.message_id in message_ids}
        if (len(ups) == len(message_ids) and all(ups.values())) or time.monotonic() > deadline:
            return ups
        await asyncio.sleep(0.02)


async def test_a_job_is_priced_debited_and_forwarded_per_receiver(api: Api) -> None:
    answer = await api.http.post(PATH, json=job("+" + FRANCE, UK), headers=api.as_shop)
    assert answer.status_code == 200, answer.text
    sent = answer.json()
    assert (sent["system_id"], sent["accepted"], sent["refused"]) == ("smpp-shop", 2, 0)
    assert (sent["cost"], sent["cost_milli"]) == ("1.5", 1_500)
    fr, uk = sent["messages"]
    assert (fr["receiver"], fr["accepted"], fr["status"], fr["reason"]) == (
        "+" + FRANCE,
        True,
        "ESME_ROK",
        None,
    )
    assert (fr["segments"], fr["cost_milli"], uk["segments"], uk["cost"]) == (1, 1_000, 1, "0.5")
    assert await balance(api) == 100_000 - 1_500
    ids = [fr["message_id"], uk["message_id"]]
    assert all(ids) and len(set(ids)) == 2
    assert all((await forwarded(api, ids)).values())
    simulator = api.gateway.simulator
    assert simulator is not None and simulator.stats.submits == 2
    # The history shows them as it shows SMPP submits.
    history = (await api.http.get("/sms/smpp-shop/outgoing", headers=api.as_shop)).json()
    assert {m["message_id"]: m["destination"] for m in history["messages"]} == {
        ids[0]: FRANCE,
        ids[1]: UK,
    }
    # Counted as SMPP submits are: accepted, credits debited.
    metrics = (await api.http.get("/metrics")).text
    assert "smppgw_submits_accepted_total 2.0" in metrics
    assert "smppgw_credits_debited_total 1.5" in metrics
    assert await api.store.audit() == []


async def test_codings_and_long_texts_cost_what_submit_sm_costs(api: Api) -> None:
    cases = [
        ({"message": "a" * 160}, 1),  # one GSM SMS
        ({"message": "a" * 161}, 2),  # two parts of 153
        ({"message": "€" * 80}, 1),  # 160 septets: each euro is an escape pair
        ({"message": "a" * 400}, 3),  # over 254 octets: sent as message_payload
        ({"message": "привет"}, 1),  # not GSM: UCS-2 by itself
        ({"message": "a" * 70, "coding": "ucs2"}, 1),
        ({"message": "a" * 71, "coding": "ucs2"}, 2),
        ({"message": "😀" * 67}, 3),  # 134 UTF-16 units, but a pair never splits: 66 + 66 + 2
    ]
    for more, segments in cases:
        answer = await api.http.post(PATH, json=job(FRANCE, **more), headers=api.as_shop)
        [m] = answer.json()["messages"]
        assert (m["accepted"], m["segments"], m["cost_milli"]) == (
            True,
            segments,
            segments * 1_000,
        ), more
    assert await balance(api) == 100_000 - 1_000 * sum(s for _, s in cases)


async def test_refusals_are_per_receiver_and_charge_nothing(api: Api) -> None:
    # 1.5 credits left: the first French message is sent, the second finds no credit.
    await admin.transfer(api.store, "smpp-shop", "smpp-shop2", 98_500, key="drain")
    answer = await api.http.post(
        PATH, json=job(FRANCE, "33712345678", "33612345679"), headers=api.as_shop
    )
    assert answer.status_code == 200, answer.text
    sent = answer.json()
    assert (sent["accepted"], sent["refused"], sent["cost_milli"]) == (1, 2, 1_000)
    ok, bad_number, broke = sent["messages"]
    assert ok["accepted"] and ok["message_id"]
    assert (bad_number["status"], bad_number["reason"], bad_number["message_id"]) == (
        "ESME_RINVDSTADR",
        "destination",
        None,
    )
    assert (broke["status"], broke["reason"], broke["cost_milli"]) == (
        "ESME_RNOCREDIT",
        "insufficient_credit",
        1_000,
    )
    assert await balance(api) == 500

    foreign = await api.http.post(
        PATH, json={**job(FRANCE), "sender": "NOTMINE"}, headers=api.as_shop
    )
    [refused] = foreign.json()["messages"]
    assert (refused["status"], refused["reason"]) == ("ESME_RINVSRCADR", "sender_not_registered")
    assert await balance(api) == 500


async def test_a_retried_job_charges_once_and_answers_the_first_ids(api: Api) -> None:
    headers = {**api.as_shop, "Idempotency-Key": "campaign-7"}
    first = await api.http.post(PATH, json=job(FRANCE, UK), headers=headers)
    again = await api.http.post(PATH, json=job(FRANCE, UK), headers=headers)
    assert first.status_code == again.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await balance(api) == 100_000 - 1_500
    ids = [m["message_id"] for m in first.json()["messages"]]
    assert all((await forwarded(api, ids)).values())
    simulator = api.gateway.simulator
    assert simulator is not None and simulator.stats.submits == 2  # forwarded once each

    before = await snapshot(api)
    changed = await api.http.post(PATH, json=job(FRANCE, UK, message="other"), headers=headers)
    assert "campaign-7" in error(changed, 409, "idempotency_conflict")
    assert await snapshot(api) == before


async def test_ten_concurrent_retries_charge_once(api: Api) -> None:
    headers = {**api.as_shop, "Idempotency-Key": "burst"}
    answers = await asyncio.gather(
        *(api.http.post(PATH, json=job(FRANCE, UK), headers=headers) for _ in range(10))
    )
    assert [a.status_code for a in answers] == [200] * 10
    assert len({tuple(m["message_id"] for m in a.json()["messages"]) for a in answers}) == 1
    assert await balance(api) == 100_000 - 1_500
    debits = [e for e in await api.store.journal("smpp-shop") if e.amount < 0]
    assert sorted(e.amount for e in debits) == [-1_000, -500]


async def test_smpp_and_http_draw_on_one_balance(api: Api) -> None:
    def over_smpp() -> list[int]:
        esme = Esme(api.gateway.endpoints.port)
        try:
            assert esme.bind("tx", "smpp-shop", PASSWORD) == 0
            return [esme.submit(b"hello", destination=FRANCE)[0] for _ in range(5)]
        finally:
            esme.close()

    smpp, http = await asyncio.gather(
        in_thread(over_smpp),
        api.http.post(PATH, json=job(*[UK] * 5), headers=api.as_shop),
    )
    assert smpp == [0] * 5
    assert http.json()["accepted"] == 5
    assert await balance(api) == 100_000 - 5 * 1_000 - 5 * 500
    debits = [e.amount for e in await api.store.journal("smpp-shop") if e.amount < 0]
    assert sorted(debits) == [-1_000] * 5 + [-500] * 5
    assert await api.store.audit() == []


@pytest.mark.parametrize(
    ("body", "headers", "fragment"),
    [
        (job(), {}, "receivers"),
        (job("33-61"), {}, "receivers"),
        (job("+" + "1" * 21), {}, "receivers"),
        (job(FRANCE, message=""), {}, "message"),
        (job(FRANCE, message="Привет", coding="gsm7"), {}, "not in GSM 03.38"),
        (job(FRANCE, coding="latin1"), {}, "coding"),
        ({**job(FRANCE), "sender": "S" * 21}, {}, "sender"),
        ({**job(FRANCE), "sender": "Ωmega\u2603"}, {}, "sender"),
        ({**job(FRANCE), "category": "bulk"}, {}, "category"),
        ({"receivers": [FRANCE], "message": "hi"}, {}, "sender"),
        (job(FRANCE, receipt="yes"), {}, "receipt"),
        (job(FRANCE), {"Idempotency-Key": ""}, "idempotency key"),
    ],
)
async def test_a_malformed_job_is_400_and_sends_nothing(
    api: Api, body: dict[str, Any], headers: dict[str, str], fragment: str
) -> None:
    before = await snapshot(api)
    answer = await api.http.post(PATH, json=body, headers={**api.as_shop, **headers})
    assert fragment in error(answer, 400, "invalid_input")
    assert await snapshot(api) == before
    simulator = api.gateway.simulator
    assert simulator is not None and simulator.stats.submits == 0


async def test_another_owners_account_is_not_found(api: Api) -> None:
    before = await snapshot(api)
    for account in ("smpp-bank", "smpp-nobody"):
        answer = await api.http.post(f"/sms/{account}/jobs", json=job(FRANCE), headers=api.as_shop)
        assert error(answer, 404, "account_not_found") == f"account {account}: no such account"
    assert await snapshot(api) == before


async def test_without_the_submit_path_it_is_503(tmp_path: Path) -> None:
    async with seeded(tmp_path) as s:
        config = ApiConfig(enabled=True, port=0)
        ctx = ApiContext(config, s.store, Metrics(), FailureLimiter(10))  # no submitter
        server = ApiServer(config, create_app(ctx))
        port = await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                headers = {"Authorization": f"Bearer {s.shop_token}"}
                answer = await http.post(PATH, json=job(FRANCE), headers=headers)
                got = await http.get("/sms/smpp-shop", headers=headers)
        finally:
            await server.stop()
        assert "submit path" in error(answer, 503, "sending_unavailable")
        assert got.status_code == 200  # the rest of the API serves
        assert (await s.store.get_account("smpp-shop")).balance == 100_000


async def test_a_job_through_a_real_serve_is_forwarded_and_debited(tmp_path: Path) -> None:
    async with seeded(tmp_path) as s:
        url, token = s.url, s.shop_token
    port, api_port = free_port(), free_port()
    config = tmp_path / "smppgw.toml"
    config.write_text(
        f"""
[server]
port = {port}
[ledger]
url = "{url}"
[pricing]
tariff = "{TARIFF}"
[simulator]
port = 0
dlr_delay_ms = 20
[logging]
level = "warning"
[api]
enabled = true
port = {api_port}
"""
    )
    gw = await GatewayProcess(config, port).start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as http:
            for _ in range(200):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            answer = await http.post(PATH, json=job(FRANCE, receipt=True), headers=headers)
            assert answer.status_code == 200, answer.text
            [sent] = answer.json()["messages"]
            assert sent["accepted"], sent
            state = None
            for _ in range(200):  # forwarded to the simulator, then its receipt comes back
                page = (await http.get("/sms/smpp-shop/outgoing", headers=headers)).json()
                [message] = page["messages"]
                state = message["state"]
                if state == "delivered":
                    break
                await asyncio.sleep(0.05)
            account = (await http.get("/sms/smpp-shop", headers=headers)).json()
    finally:
        code = await gw.stop()
    assert code == 0
    assert message["message_id"] == sent["message_id"]
    assert (state, message["upstream_id"] is not None) == ("delivered", True)
    assert (account["balance"], account["balance_milli"]) == ("99", 99_000)


async def test_a_callback_url_gets_each_receipt_posted(api: Api) -> None:
    with http_sink() as sink:
        body = job(FRANCE, UK, callback_url=sink.url("/hook?from=smppgw"))
        answer = await api.http.post(PATH, json=body, headers=api.as_shop)
        assert answer.status_code == 200, answer.text
        ids = {m["message_id"] for m in answer.json()["messages"]}
        # The simulator delivers each (a callback asks for the receipt by itself); the
        # gateway's callback task POSTs each outcome once.
        posted = await asyncio.to_thread(sink.wait, 2)
    assert {p.body["message_id"] for p in posted} == ids
    assert {p.path for p in posted} == {"/hook?from=smppgw"}
    assert {p.body["state"] for p in posted} == {"delivered"}
    assert {p.headers["idempotency-key"] for p in posted} == ids
    # Counted once settled (just after the POST was answered).
    expected = 'smppgw_callbacks_total{outcome="sent"} 2.0'
    deadline = time.monotonic() + 10
    while expected not in (metrics := (await api.http.get("/metrics")).text):
        assert time.monotonic() < deadline, metrics
        await asyncio.sleep(0.05)
    # The history shows the same receipts.
    history = (await api.http.get("/sms/smpp-shop/outgoing", headers=api.as_shop)).json()
    assert {m["message_id"]: m["state"] for m in history["messages"]} == dict.fromkeys(
        ids, "delivered"
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "/relative",
        "https://user:pw@example.com/x",
        "https://example.com/x#frag",
        "https://example.com/" + "a" * 2048,
        "https://example.com:99999/",
    ],
)
async def test_a_bad_callback_url_is_refused_and_sends_nothing(api: Api, url: str) -> None:
    before = await snapshot(api)
    answer = await api.http.post(PATH, json=job(FRANCE, callback_url=url), headers=api.as_shop)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"
    assert await snapshot(api) == before
