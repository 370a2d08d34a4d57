"""Every acknowledged message ends delivered, rejected (refunded) or expired (refunded),
against an upstream that throttles, refuses some destinations for good, answers ids in
hex and receipts them in decimal, drops its links and restarts; the balance is the
initial one minus what was not refunded; every receipt reaches the client under our id;
nothing is sent twice but the counted resends after a drop.

Real parts: an smpplib client, the gateway, the SQLite ledger, and the tests' own SMSC
over TCP (tests/integration/chaos_smsc.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

import pytest

from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import EntryKind, MessageState
from tests.integration.chaos_smsc import ChaosSmsc
from tests.integration.esme import Esme, Receipt
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.test_routing import until

MESSAGES = 200
#: Destinations this upstream refuses for good (a valid French mobile range).
REFUSED = "33699"
WINDOW = 5


def destination(i: int) -> str:
    return f"{REFUSED}{i:06d}" if i % 10 == 3 else f"336{i:08d}"


def submit_all(esme: Esme, acked: dict[str, str], stop: threading.Event) -> None:
    for i in range(MESSAGES):
        if stop.is_set():
            return
        status, mid = esme.submit(
            f"m{i}".encode(), destination=destination(i), registered_delivery=1
        )
        assert status == S.ESME_ROK
        acked[f"m{i}"] = mid


def receipts_for(esme: Esme, ids: set[str]) -> list[Receipt]:
    """Read receipts until every one of ``ids`` has one (duplicates kept)."""
    while not ids <= {r.receipted_message_id for r in esme.receipts}:
        esme.wait_receipts(len(esme.receipts) + 1)
    return list(esme.receipts)


async def test_every_message_ends_delivered_or_refunded_through_chaos(
    store: Store, tmp_path: Path
) -> None:
    smsc = await ChaosSmsc(
        "chaos", throttle_every=7, reject_prefixes=(REFUSED,), resp_delay=0.005
    ).start()
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": smsc.port, "window": WINDOW, "system_id": "gw"},
        delivery={"throttle_pause_s": 0.01, "throttle_pause_max_s": 0.05},
    )
    await make_account(store, "smpp-chaos", credits="1000")
    initial = (await store.get_account("smpp-chaos")).balance
    acked: dict[str, str] = {}
    stop = threading.Event()
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-chaos", PASSWORD)
            sending = asyncio.ensure_future(in_thread(submit_all, esme, acked, stop))
            drops = 0
            for at in (40, 90, 150):
                await until(lambda at=at: len(smsc.received) >= at, f"{at} submits arrive")
                if at == 90:
                    await smsc.stop()  # gone for a moment, back on the same port
                    await asyncio.sleep(0.3)
                    await smsc.start()
                else:
                    smsc.drop()  # a cut: what was unanswered must be sent again
                drops += 1
            await sending
            await until(lambda: gw.forwarder.held == 0, "the forwarder settles everything", 30)
            refused = [t for t in acked if destination(int(t[1:])).startswith(REFUSED)]
            receipts = await in_thread(receipts_for, esme, set(acked.values()))
            await in_thread(esme.close)
            resends = gw.forwarder.resend_count
            throttled = gw.metrics.upstream_throttled.labels("default")._value.get()
    finally:
        stop.set()
        await smsc.stop()

    assert len(acked) == MESSAGES
    # Every message ended: delivered, or rejected and refunded once.
    states = Counter()
    for text, mid in acked.items():
        record = await store.get_message(mid)
        states[record.state] += 1
        want = MessageState.REJECTED if text in refused else MessageState.DELIVERED
        assert record.state == want, (text, record.state)
        if want is MessageState.DELIVERED:
            assert record.upstream == "default" and record.upstream_id == record.upstream_id.upper()
    journal = await store.journal("smpp-chaos", limit=10_000)
    refunds = [e for e in journal if e.kind == EntryKind.REFUND]
    assert sorted(e.message_id for e in refunds) == sorted(acked[t] for t in refused)
    cost = (await store.get_message(acked["m0"])).cost
    balance = (await store.get_account("smpp-chaos")).balance
    assert balance == initial - cost * (MESSAGES - len(refused))
    # Every receipt under our id: DELIVRD relayed from the upstream, REJECTD our own. (A
    # receipt the SMSC sent again after a drop, not knowing we had it, comes twice.)
    by_id = {r.receipted_message_id: r for r in receipts}
    assert sorted(by_id) == sorted(acked.values())
    for text, mid in acked.items():
        stat = "REJECTD" if text in refused else "DELIVRD"
        assert f"stat:{stat}" in by_id[mid].text, (text, by_id[mid].text)
    # A response a drop swallowed leaves the SMSC a receipt for an id we never learned:
    # acknowledged once its grace period ends (receipt.unmatched), never relayed.
    twice = sum(n - 1 for n in smsc.accepted_texts().values())
    assert 0 <= smsc.receipts_acked - (MESSAGES - len(refused)) <= twice
    # Sent twice only what a drop left unanswered, each counted, at most a window a drop.
    assert twice <= resends <= WINDOW * drops
    # Each throttled answer the gateway read slowed the link and refunded nothing; one a
    # drop swallowed before the gateway read it was never seen (its message was resent).
    sent_throttled = smsc.answered[S.ESME_RTHROTTLED]
    assert 0 < throttled <= sent_throttled <= throttled + WINDOW * drops


async def test_a_message_no_upstream_takes_in_time_expires_refunded(
    store: Store, tmp_path: Path
) -> None:
    smsc = await ChaosSmsc("slow").start()
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": smsc.port, "system_id": "gw"},
    )
    await make_account(store, "smpp-exp", credits="100")
    initial = (await store.get_account("smpp-exp")).balance
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-exp", PASSWORD)
            await smsc.stop()
            await until(lambda: not gw.upstream.is_live("default"), "the link is down")
            short, long = [], []
            for i in range(4):  # one second of validity, relative (SMPP 3.4 §7.1.1)
                status, mid = await in_thread(
                    esme.submit,
                    f"s{i}".encode(),
                    registered_delivery=1,
                    validity_period="000000000001000R",
                )
                assert status == S.ESME_ROK
                short.append(mid)
                status, mid = await in_thread(esme.submit, f"l{i}".encode(), registered_delivery=1)
                assert status == S.ESME_ROK
                long.append(mid)
            expired = await in_thread(esme.wait_receipts, 4)
            await smsc.start()  # the others go out once the link is back
            receipts = await in_thread(esme.wait_receipts, 8)
            await in_thread(esme.close)
    finally:
        await smsc.stop()
    assert sorted(r.receipted_message_id for r in expired) == sorted(short)
    assert all("stat:EXPIRED" in r.text for r in expired)
    assert sorted(r.receipted_message_id for r in receipts[4:]) == sorted(long)
    assert {r.text for r in smsc.received} == {f"l{i}".encode() for i in range(4)}
    for mid in short:
        assert (await store.get_message(mid)).state == MessageState.REJECTED  # refunded
    journal = await store.journal("smpp-exp", limit=100)
    refunds = {e.message_id: e for e in journal if e.kind == EntryKind.REFUND}
    assert sorted(refunds) == sorted(short)
    cost = (await store.get_message(long[0])).cost
    assert (await store.get_account("smpp-exp")).balance == initial - cost * 4


async def test_an_upstream_rate_is_never_exceeded(store: Store, tmp_path: Path) -> None:
    smsc = await ChaosSmsc("paced").start()
    rate = 20
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": smsc.port, "system_id": "gw", "throughput": float(rate)},
    )
    await make_account(store, "smpp-rate", credits="100")
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-rate", PASSWORD)
            for i in range(3 * rate):  # the client sends far faster than the upstream takes
                status, _ = await in_thread(esme.submit, f"r{i}".encode())
                assert status == S.ESME_ROK
            await until(lambda: len(smsc.received) == 3 * rate, "every message arrives", 30)
            await in_thread(esme.close)
    finally:
        await smsc.stop()
    assert smsc.max_in_any_second() <= rate + 1  # the bucket's one token of burst


@pytest.mark.parametrize("refund", [False, True])
async def test_undelivered_after_acceptance_follows_the_policy(
    store: Store, tmp_path: Path, refund: bool
) -> None:
    smsc = await ChaosSmsc("undeliv", dlr_stat="UNDELIV").start()
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        simulator={"enabled": False},
        upstream={"port": smsc.port, "system_id": "gw"},
        delivery={"undelivered_refund": refund},
    )
    await make_account(store, "smpp-undeliv", credits="100")
    initial = (await store.get_account("smpp-undeliv")).balance
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-undeliv", PASSWORD)
            status, mid = await in_thread(esme.submit, b"gone", registered_delivery=1)
            assert status == S.ESME_ROK
            [receipt] = await in_thread(esme.wait_receipts, 1)
            await in_thread(esme.close)
            cost = (await store.get_message(mid)).cost
            if refund:  # the refund follows the receipt: wait for it, bounded
                await until_refunded(store, mid)
    finally:
        await smsc.stop()
    assert receipt.receipted_message_id == mid
    assert "stat:UNDELIV" in receipt.text  # relayed as it came, either way
    record = await store.get_message(mid)
    balance = (await store.get_account("smpp-undeliv")).balance
    if refund:
        assert record.state == MessageState.REJECTED and balance == initial
    else:  # the default: the upstream charged us, so the client is charged too
        assert record.state == MessageState.FAILED and balance == initial - cost


async def until_refunded(store: Store, message_id: str) -> None:
    for _ in range(250):
        journal = await store.journal("smpp-undeliv", limit=10)
        if any(e.kind == EntryKind.REFUND and e.message_id == message_id for e in journal):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{message_id} was not refunded")
