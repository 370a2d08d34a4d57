"""Receipts whose upstream spells its ids in two ways, or sends them early, all reach
the client under our ids (smpplib client -> gateway -> a real SMPP upstream).

The upstream here is the built-in simulator in its SMSC-habit modes, run on a port of
its own: ``hex-decimal`` answers submit_sm with a zero-padded upper-case hex id and
receipts it in decimal, in the text only (no receipted_message_id TLV);
``resp_delay_ms`` holds every submit_sm_resp back so that its receipt overtakes it.
"""

from __future__ import annotations

from pathlib import Path

from gateway.app import Gateway
from gateway.simulator import UpstreamSimulator
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import MessageState
from ledger.rules.receipts import upstream_key
from tests.integration.chaos_smsc import ChaosSmsc
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

MESSAGES = 30


async def _run(store: Store, tmp_path: Path, sim: UpstreamSimulator) -> None:
    await sim.start()
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": sim.port},
    )
    try:
        async with running_gateway(config, store) as gw:
            await _submit_and_collect(gw, store)
    finally:
        await sim.stop()
    assert sim.stats.receipts_acked == MESSAGES


async def _submit_and_collect(gw: Gateway, store: Store) -> None:
    await make_account(store, "smpp-hexdec")
    assert gw.endpoints is not None
    esme = await in_thread(Esme, gw.endpoints.port)
    await in_thread(esme.bind, "trx", "smpp-hexdec", PASSWORD)
    ids = []
    for i in range(MESSAGES):
        status, mid = await in_thread(esme.submit, f"m{i}".encode(), registered_delivery=1)
        assert status == S.ESME_ROK
        ids.append(mid)
    receipts = await in_thread(esme.wait_receipts, MESSAGES)
    await in_thread(esme.close)
    assert sorted(r.receipted_message_id for r in receipts) == sorted(ids)
    for r in receipts:
        assert r.text.startswith(f"id:{r.receipted_message_id} ")
    for mid in ids:
        record = await store.get_message(mid)
        assert record.state == MessageState.DELIVERED
        assert record.upstream_id is not None
        assert record.upstream_id == record.upstream_id.upper()  # hex as the upstream gave it
        assert upstream_key(record.upstream_id) != record.upstream_id


async def test_hex_in_the_response_decimal_in_the_receipt(store: Store, tmp_path: Path) -> None:
    await _run(store, tmp_path, UpstreamSimulator(id_style="hex-decimal", dlr_delay_ms=20))


async def test_a_receipt_that_overtakes_its_response_is_matched(
    store: Store, tmp_path: Path
) -> None:
    sim = UpstreamSimulator(id_style="hex-decimal", dlr_delay_ms=0, resp_delay_ms=150)
    await _run(store, tmp_path, sim)


async def test_a_hex_counter_receipted_in_decimal_late_is_matched_by_its_habit(
    store: Store, tmp_path: Path
) -> None:
    """A plain counter in hex (0000000A, 00000010, 00000016...) receipted in decimal once
    every message is out: ``id:16`` is 0x10, not 0x16. With ``receipt_ids = "decimal"``
    every receipt reaches the client under the right message's id."""
    smsc = await ChaosSmsc("hexdec", id_base=0, dlr_delay=1.0).start()
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": smsc.port, "system_id": "gw", "receipt_ids": "decimal"},
    )
    await make_account(store, "smpp-counter")
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-counter", PASSWORD)
            texts = {}
            for i in range(40):  # ids 0x1-0x28: "10" to "40" mean two messages each
                status, mid = await in_thread(esme.submit, f"c{i}".encode(), registered_delivery=1)
                assert status == S.ESME_ROK
                texts[mid] = f"c{i}"
            receipts = await in_thread(esme.wait_receipts, 40)
            await in_thread(esme.close)
    finally:
        await smsc.stop()
    assert sorted(r.receipted_message_id for r in receipts) == sorted(texts)
    for r in receipts:  # the receipt's text: starts of the message it reports
        assert r.text.endswith(f"text:{texts[r.receipted_message_id]}"), r.text
