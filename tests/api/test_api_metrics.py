"""``/metrics`` scraped over HTTP after a short real SMPP session (smpplib)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import live_gateway
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD

#: The shipped tariff charges 1 credit a segment to +33 (France).
FRANCE = "33612345678"


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[tuple[str, frozenset], float]:
    """Every sample of ``/metrics``: (name, labels) -> value."""
    answer = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_short_session_shows_in_the_counters(tmp_path: Path) -> None:
    with live_gateway(tmp_path) as live:
        esme = Esme(live.smpp_port)
        try:
            assert esme.bind("trx", "smpp-shop", PASSWORD) == 0
            statuses = [esme.submit(b"hello", destination=FRANCE)[0] for _ in range(3)]
            assert statuses == [0, 0, 0]
            refused, _ = esme.submit(b"hello", source="NOTMINE", destination=FRANCE)
            assert refused == 0x0A  # ESME_RINVSRCADR
            during = scrape(live.url)
        finally:
            esme.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the forwarder sends the 3 messages upstream
            after = scrape(live.url)
            if value(after, "smppgw_outbox_messages") == 0:
                break
            time.sleep(0.05)

    assert value(during, "smppgw_submits_accepted_total") == 3
    assert (
        value(
            during,
            "smppgw_submits_refused_total",
            reason="sender_not_registered",
            status="ESME_RINVSRCADR",
        )
        == 1
    )
    assert value(during, "smppgw_credits_debited_total") == 3.0
    assert value(during, "smppgw_recharges_total") == 0
    assert value(during, "smppgw_credits_refunded_total") == 0
    pdu = "smppgw_pdus_total"
    client_in = {"link": "client", "direction": "in", "status": "ESME_ROK"}
    assert value(during, pdu, command="submit_sm", **client_in) == 4
    assert value(during, pdu, command="bind_transceiver", **client_in) == 1
    out = {"link": "client", "direction": "out", "command": "submit_sm_resp"}
    assert value(during, pdu, status="ESME_ROK", **out) == 3
    assert value(during, pdu, status="ESME_RINVSRCADR", **out) == 1
    assert value(during, "smppgw_bound_sessions", bind_type="trx") == 1
    assert value(during, "smppgw_bound_sessions", bind_type="tx") == 0
    assert value(during, "smppgw_upstream_bound", upstream="default") == 1
    assert value(during, "smppgw_ledger_up") == 1
    assert value(during, "smppgw_ledger_batch_size_count") >= 1
    assert value(during, "smppgw_ledger_batch_size_sum") == 3
    assert value(during, "smppgw_ledger_commit_seconds_count") >= 1

    upstream_out = {"link": "upstream", "direction": "out", "command": "submit_sm"}
    assert value(after, pdu, status="ESME_ROK", **upstream_out) == 3
    assert value(after, "smppgw_outbox_messages") == 0
    assert value(after, "smppgw_outbox_oldest_age_seconds") == 0
    assert value(after, "smppgw_bound_sessions", bind_type="trx") == 0


def test_metrics_behind_an_admin_token(tmp_path: Path) -> None:
    with live_gateway(tmp_path, metrics_public=False) as live:
        assert httpx.get(f"{live.url}/metrics", timeout=10).status_code == 401
        shop = {"Authorization": f"Bearer {live.shop_token}"}
        assert httpx.get(f"{live.url}/metrics", headers=shop, timeout=10).status_code == 403
        samples = scrape(live.url, {"Authorization": f"Bearer {live.admin_token}"})
        assert value(samples, "smppgw_upstream_bound", upstream="default") == 1
