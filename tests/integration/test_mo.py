"""Messages from handsets (MO) reach the receiver of the account owning their number or
keyword: bound already, bound later, or bound on another gateway sharing the ledger.

Real parts: the tests' own SMSC sending deliver_sm over TCP, the gateway(s), the SQLite
ledger, smpplib clients.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config import Config
from gateway.smpp import CommandStatus as S
from ledger import Store
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
