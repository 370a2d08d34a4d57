"""Messages from handsets (MO) reach the receiver of the account owning their number or
keyword: bound already, bound later, or bound on another gateway sharing the ledger.

Real parts: the tests' own SMSC sending deliver_sm over TCP, the gateway(s), the SQLite
ledger (and a PostgreSQL one for the NOTIFY between gateways), smpplib clients.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config import Config
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from tests.integration.chaos_smsc import ChaosSmsc
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

NUMBER = "33700000001"


def config(url: str, smsc: ChaosSmsc, gateway_id: str = "gw-a") -> Config:
    return gateway_config(
        url,
        simulator={"enabled": False},
        upstream={"port": smsc.port, "system_id": "gw"},
        server={"gateway_id": gateway_id},
    )


async def test_an_mo_reaches_the_owner_bound_now_or_later(store: Store, tmp_path: Path) -> None:
    smsc = await ChaosSmsc("mo").start()
    await make_account(store, "smpp-num")
    await make_account(store, "smpp-kw")
    await store.set_mo_route("smpp-num", number=NUMBER)
    await store.set_mo_route("smpp-kw", keyword="QUIZ")
    try:
        async with running_gateway(config(f"sqlite:///{tmp_path}/ledger.db", smsc), store) as gw:
            now = await in_thread(Esme, gw.endpoints.port)
            await in_thread(now.bind, "trx", "smpp-num", PASSWORD)
            assert await smsc.send_mo("33612345678", NUMBER, b"hello there") == S.ESME_ROK
            [got] = await in_thread(now.wait_receipts, 1)
            assert got.text == "hello there" and got.receipted_message_id == ""
            # Nobody of smpp-kw is bound: kept, and delivered at its bind.
            assert await smsc.send_mo("33612345678", "33799999999", b"quiz B") == S.ESME_ROK
            assert len(await store.pending_mo("smpp-kw")) == 1
            # Owned by nobody: acknowledged (the SMSC must not retry it), not stored.
            assert await smsc.send_mo("33612345678", "33799999999", b"hello") == S.ESME_ROK
            later = await in_thread(Esme, gw.endpoints.port)
            await in_thread(later.bind, "rx", "smpp-kw", PASSWORD)
            [quiz] = await in_thread(later.wait_receipts, 1)
            assert quiz.text == "quiz B"
            await in_thread(now.close)
            await in_thread(later.close)
            stored = gw.metrics.mo_messages.labels("stored")._value.get()
            unrouted = gw.metrics.mo_messages.labels("unrouted")._value.get()
        assert (stored, unrouted) == (2, 1)
        assert await store.pending_mo("smpp-kw") == []
        assert await store.pending_mo("smpp-num") == []
        assert len(now.receipts) == 1  # the unowned one went nowhere
    finally:
        await smsc.stop()


async def test_an_mo_reaches_a_receiver_on_another_gateway(store: Store, tmp_path: Path) -> None:
    smsc = await ChaosSmsc("mo2").start()
    other = await ChaosSmsc("idle").start()
    url = f"sqlite:///{tmp_path}/ledger.db"
    await make_account(store, "smpp-far")
    await store.set_mo_route("smpp-far", number=NUMBER)
    try:
        async with (
            running_gateway(config(url, smsc, "gw-a"), store) as gw_a,
            running_gateway(config(url, other, "gw-b"), store) as gw_b,
        ):
            esme = await in_thread(Esme, gw_b.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-far", PASSWORD)
            # gw-a gets it from its upstream; only gw-b has the account's receiver.
            assert await smsc.send_mo("33612345678", NUMBER, b"far away") == S.ESME_ROK
            [got] = await in_thread(esme.wait_receipts, 1)
            assert got.text == "far away"
            await in_thread(esme.close)
            assert gw_a.endpoints.port != gw_b.endpoints.port
        assert await store.pending_mo("smpp-far") == []
    finally:
        await smsc.stop()
        await other.stop()


async def test_priced_mos_are_charged_once_and_delivered_unpriced_when_unpaid(
    store: Store, tmp_path: Path
) -> None:
    smsc = await ChaosSmsc("mo-priced").start()
    await make_account(store, "smpp-pay", credits="0.3")
    await store.set_mo_route("smpp-pay", number=NUMBER)
    cfg = config(f"sqlite:///{tmp_path}/ledger.db", smsc)
    cfg = replace(cfg, delivery=replace(cfg.delivery, mo_weight_credits=0.25))
    try:
        async with running_gateway(cfg, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-pay", PASSWORD)
            assert await smsc.send_mo("33612345678", NUMBER, b"first") == S.ESME_ROK
            await in_thread(esme.wait_receipts, 1)
            # The SMSC sends the same deliver_sm again (it lost our answer): once only.
            assert await smsc.send_mo("33612345678", NUMBER, b"first") == S.ESME_ROK
            # 0.05 credits left: delivered all the same, without a debit.
            assert await smsc.send_mo("33612345678", NUMBER, b"second") == S.ESME_ROK
            got = await in_thread(esme.wait_receipts, 2)
            await in_thread(esme.close)
            outcomes = {
                o: gw.metrics.mo_messages.labels(o)._value.get()
                for o in ("stored", "retried", "unpriced")
            }
        assert [m.text for m in got] == ["first", "second"]
        assert outcomes == {"stored": 2, "retried": 1, "unpriced": 1}
        assert (await store.get_account("smpp-pay")).balance == 50
        kinds = [e.kind.value for e in await store.journal("smpp-pay")]
        assert kinds.count("mo") == 1
    finally:
        await smsc.stop()


@pytest.mark.postgres
async def test_an_mo_wakes_the_other_gateway_at_once_on_postgresql(pg_url: str) -> None:
    """gw-b's sweep is an hour: only the NOTIFY of gw-a's stored MO can wake it."""
    store = await open_store(pg_url)
    await store.upgrade()
    smsc = await ChaosSmsc("mo-pg").start()
    idle = await ChaosSmsc("idle-pg").start()
    await make_account(store, "smpp-pg", credits="1")
    await store.set_mo_route("smpp-pg", number=NUMBER)
    slow = {"mo_sweep_s": 3600.0, "mo_weight_credits": 0.1}
    try:
        async with (
            running_gateway(replace_delivery(config(pg_url, smsc, "gw-a"), slow), store) as gw_a,
            running_gateway(replace_delivery(config(pg_url, idle, "gw-b"), slow)) as gw_b,
        ):
            esme = await in_thread(Esme, gw_b.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-pg", PASSWORD)
            for i in range(3):  # bound before each arrives: only a notification brings it
                text = f"wake {i}".encode()
                assert await smsc.send_mo("33612345678", NUMBER, text) == S.ESME_ROK
                [*_, got] = await in_thread(esme.wait_receipts, i + 1)
                assert got.text == f"wake {i}"
            await in_thread(esme.close)
            assert gw_a.metrics.mo_messages.labels("stored")._value.get() == 3
        assert await store.pending_mo("smpp-pg") == []
        assert (await store.get_account("smpp-pg")).balance == 700
        assert await store.audit() == []
    finally:
        await smsc.stop()
        await idle.stop()
        await store.close()


def replace_delivery(cfg: Config, changes: dict[str, float]) -> Config:
    return replace(cfg, delivery=replace(cfg.delivery, **changes))
