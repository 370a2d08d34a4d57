"""``GET /sms/{account}/outgoing``: the history of messages sent over SMPP, over HTTP.

The messages are real: smpplib submits them to the running gateway, the forwarder sends
them to the built-in simulator, and its receipts come back; the API then shows each with
its cost and state, filtered and paged as ``smppgw history`` does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_api_accounts import error, snapshot
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread

PATH = "/sms/smpp-shop/outgoing"
#: France 1 credit a segment, the UK 0.5 (the shipped tariff).
DESTINATIONS = ("33612345678", "33698765432", "447911123456", "33612345679")


def send_with_receipts(port: int) -> list[str]:
    """Bind a transceiver, submit one message to each destination, take every receipt."""
    esme = Esme(port)
    try:
        assert esme.bind("trx", "smpp-shop", PASSWORD) == 0
        ids = []
        for destination in DESTINATIONS:
            status, message_id = esme.submit(
                b"hello", destination=destination, registered_delivery=1
            )
            assert status == 0
            ids.append(message_id)
        esme.wait_receipts(len(ids))
        return ids
    finally:
        esme.close()


async def sent(api: Api) -> list[str]:
    """The ids of the messages sent, once the receipts are acknowledged in the ledger."""
    ids = await in_thread(send_with_receipts, api.gateway.endpoints.port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = await api.store.history("smpp-shop")
        if all(h.receipt_delivered_at is not None for h in page.items):
            break
        await asyncio.sleep(0.02)
    return ids


async def get(api: Api, **params: Any) -> dict[str, Any]:
    answer = await api.http.get(PATH, params=params, headers=api.as_shop)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_the_history_of_real_messages_with_filters_and_pages(api: Api) -> None:
    ids = await sent(api)
    newest_first = ids[::-1]

    everything = await get(api)
    assert [m["message_id"] for m in everything["messages"]] == newest_first
    assert everything["next_before"] is None
    uk = everything["messages"][1]
    assert (uk["destination"], uk["source"], uk["segments"], uk["cost"], uk["cost_milli"]) == (
        "447911123456",
        "SMPPGW",
        1,
        "0.5",
        500,
    )
    assert uk["drawn_from"] == [{"source": "credits", "amount": "0.5", "amount_milli": 500}]
    assert {m["state"] for m in everything["messages"]} == {"delivered"}
    assert all(m["upstream_id"] and m["receipt_delivered_at"] for m in everything["messages"])

    france = await get(api, dest="+33")
    assert [m["message_id"] for m in france["messages"]] == [ids[3], ids[1], ids[0]]
    assert [m["message_id"] for m in (await get(api, dest="3361"))["messages"]] == [
        ids[3],
        ids[0],
    ]
    assert (await get(api, status="delivered"))["messages"] == everything["messages"]
    assert (await get(api, status="accepted"))["messages"] == []
    assert (await get(api, since="2999-01-01"))["messages"] == []
    assert (await get(api, until="2000-01-01T00:00:00+02:00"))["messages"] == []

    # Pages of 3 with a filter: the cursor carries on with the same filter.
    first = await get(api, limit=3)
    assert [m["message_id"] for m in first["messages"]] == newest_first[:3]
    assert first["next_before"] is not None
    second = await get(api, limit=3, before=first["next_before"])
    assert [m["message_id"] for m in second["messages"]] == newest_first[3:]
    assert second["next_before"] is None
    one = await get(api, dest="33", limit=2)
    rest = await get(api, dest="33", limit=2, before=one["next_before"])
    assert [m["message_id"] for m in one["messages"] + rest["messages"]] == [
        ids[3],
        ids[1],
        ids[0],
    ]

    # Another owner's account: as unknown as one that does not exist.
    bank = await api.http.get("/sms/smpp-bank/outgoing", headers=api.as_shop)
    assert error(bank, 404, "account_not_found") == "account smpp-bank: no such account"
    mine_for_admin = await api.http.get(PATH, headers=api.as_admin)
    assert mine_for_admin.json()["messages"] == everything["messages"]


async def test_an_account_with_no_messages(api: Api) -> None:
    assert await get(api) == {"messages": [], "next_before": None}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"status": "lost"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"since": "yesterday"}, "not a date or time"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "not a date or time"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "since must be before until"),
        ({"dest": "44a"}, "destination prefix"),
        ({"before": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_filters_are_400(api: Api, params: dict[str, Any], fragment: str) -> None:
    before = await snapshot(api)
    answer = await api.http.get(PATH, params=params, headers=api.as_shop)
    assert fragment in error(answer, 400, "invalid_input")
    assert await snapshot(api) == before


async def test_an_unknown_account(api: Api) -> None:
    answer = await api.http.get("/sms/smpp-nobody/outgoing", headers=api.as_admin)
    error(answer, 404, "account_not_found")


async def test_usage_per_day_counts_what_was_sent_today(api: Api) -> None:
    job = {"sender": "SMPPGW", "receivers": ["33612345678", "447911123456"], "message": "hi"}
    assert (await api.http.post("/sms/smpp-shop/jobs", json=job, headers=api.as_shop)).json()[
        "accepted"
    ] == 2
    answer = await api.http.get("/sms/smpp-shop/usage", headers=api.as_shop)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["system_id"] == "smpp-shop" and len(body["days"]) == 30
    today = body["days"][-1]
    assert (today["messages"], today["credits"], today["credits_milli"]) == (2, "1.5", 1_500)
    assert all(d["messages"] == 0 for d in body["days"][:-1])
    week = (await api.http.get("/sms/smpp-shop/usage?days=7", headers=api.as_shop)).json()
    assert len(week["days"]) == 7 and week["days"][-1] == today
    for bad in ("0", "367", "x"):
        r = await api.http.get(f"/sms/smpp-shop/usage?days={bad}", headers=api.as_shop)
        assert r.status_code == 400, bad
    assert (await api.http.get("/sms/smpp-bank/usage", headers=api.as_shop)).status_code == 404
