"""Two upstreams: traffic moves to the fallback when the first dies and comes back when it
returns; a SIGHUP with a changed route table moves the next message, session kept.

Real parts: an smpplib client, the gateway, two SMSCs over TCP (tests/integration/
chaos_smsc.py, in their plain mode), the SQLite ledger.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from pathlib import Path

from gateway.app import Gateway
from gateway.config import Config, UpstreamConfig, load_config
from gateway.smpp import CommandStatus as S
from ledger import Store
from ledger.models import MessageState
from tests.integration.chaos_smsc import ChaosSmsc
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    TARIFF,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
    until,
)


def upstream(name: str, smsc: ChaosSmsc) -> UpstreamConfig:
    return UpstreamConfig(
        name=name, port=smsc.port, system_id="gw", reconnect_min_s=0.05, reconnect_max_s=0.2
    )


def two_upstreams(url: str, a: ChaosSmsc, b: ChaosSmsc) -> Config:
    config = gateway_config(url, simulator={"enabled": False})
    return replace(config, upstreams=(upstream("a", a), upstream("b", b)))


async def send(esme: Esme, texts: list[str]) -> list[str]:
    ids = []
    for text in texts:
        status, mid = await in_thread(esme.submit, text.encode(), registered_delivery=1)
        assert status == S.ESME_ROK
        ids.append(mid)
    return ids


def texts_at(smsc: ChaosSmsc) -> set[bytes]:
    return {r.text for r in smsc.received if r.status == S.ESME_ROK}


async def test_traffic_moves_to_the_fallback_and_comes_back(store: Store, tmp_path: Path) -> None:
    a, b = await ChaosSmsc("a", hex_ids=False).start(), await ChaosSmsc("b").start()
    await make_account(store, "smpp-route")
    try:
        async with running_gateway(
            two_upstreams(f"sqlite:///{tmp_path}/ledger.db", a, b), store
        ) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-route", PASSWORD)
            first = [f"first-{i}" for i in range(10)]
            ids = await send(esme, first)
            await until(lambda: len(texts_at(a)) == 10, "the first ten reach a")
            # This SMSC keeps no receipt across a restart: let it send them first.
            await until(lambda: a.receipts_acked == 10, "a's receipts are taken")

            await a.stop()  # a dies: its link notices at once, b takes the traffic
            await until(lambda: not gw.upstream.is_live("a"), "the link to a is down")
            during = [f"during-{i}" for i in range(10)]
            ids += await send(esme, during)
            await until(lambda: len(texts_at(b)) == 10, "the next ten reach b")

            await a.start()  # same port: the link reconnects and a is preferred again
            await until(lambda: gw.upstream.is_live("a"), "the link to a is back")
            after = [f"after-{i}" for i in range(10)]
            ids += await send(esme, after)
            await until(lambda: len(texts_at(a)) == 20, "the last ten reach a")

            receipts = await in_thread(esme.wait_receipts, 30)
            await in_thread(esme.close)
        assert texts_at(a) == {t.encode() for t in first + after}
        assert texts_at(b) == {t.encode() for t in during}
        assert sorted(r.receipted_message_id for r in receipts) == sorted(ids)
        for mid, text in zip(ids, first + during + after, strict=True):
            record = await store.get_message(mid)
            assert record.state == MessageState.DELIVERED
            assert record.upstream == ("b" if text.startswith("during") else "a")
    finally:
        await a.stop()
        await b.stop()


ROUTED = """
[server]
port = 0

[ledger]
url = "{url}"

[pricing]
tariff = "{tariff}"

[simulator]
enabled = false

[logging]
level = "warning"

[[upstreams]]
name = "a"
port = {a}
system_id = "gw"
reconnect_min_s = 0.05
reconnect_max_s = 0.2

[[upstreams]]
name = "b"
port = {b}
system_id = "gw"
reconnect_min_s = 0.05
reconnect_max_s = 0.2

[[routes]]
prefix = "336"
upstreams = {route}
"""


async def test_sighup_with_a_new_route_table_moves_the_next_message(
    store: Store, tmp_path: Path
) -> None:
    a, b = await ChaosSmsc("a").start(), await ChaosSmsc("b").start()
    path = tmp_path / "smppgw.toml"

    def write(route: str) -> None:
        path.write_text(
            ROUTED.format(
                url=f"sqlite:///{tmp_path}/ledger.db",
                tariff=TARIFF,
                a=a.port,
                b=b.port,
                route=route,
            )
        )

    write('["a", "b"]')
    await make_account(store, "smpp-hup")
    loop = asyncio.get_running_loop()
    try:
        async with running_gateway(load_config(path), store) as gw:
            loop.add_signal_handler(signal.SIGHUP, gw.reload)  # as ``serve`` does
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-hup", PASSWORD)
            await send(esme, ["before"])
            await until(lambda: texts_at(a) == {b"before"}, "the first message reaches a")

            write('["b", "a"]')
            old = gw.forwarder.routes
            os.kill(os.getpid(), signal.SIGHUP)
            await until(lambda: gw.forwarder.routes is not old, "the routes are reloaded")
            [mid] = await send(esme, ["after"])  # the same session, never re-bound
            await until(lambda: texts_at(b) == {b"after"}, "the next message reaches b")
            assert await _bound_sessions(gw) == 1
            await in_thread(esme.wait_receipts, 2)
            await in_thread(esme.close)
        assert texts_at(a) == {b"before"}
        assert (await store.get_message(mid)).upstream == "b"
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        await a.stop()
        await b.stop()


async def test_a_reload_naming_an_unknown_upstream_changes_nothing(
    store: Store, tmp_path: Path
) -> None:
    a, b = await ChaosSmsc("a").start(), await ChaosSmsc("b").start()
    path = tmp_path / "smppgw.toml"
    path.write_text(
        ROUTED.format(
            url=f"sqlite:///{tmp_path}/ledger.db", tariff=TARIFF, a=a.port, b=b.port, route='["a"]'
        )
    )
    try:
        async with running_gateway(load_config(path), store) as gw:
            before = gw.forwarder.routes
            text = path.read_text().replace('name = "b"', 'name = "c"')
            path.write_text(text.replace('upstreams = ["a"]', 'upstreams = ["c"]'))
            gw.reload()  # "c" is in the file, but this gateway is connected to a and b
            assert gw.forwarder.routes is before
            path.write_text("[server\n")
            gw.reload()  # not TOML at all
            assert gw.forwarder.routes is before
    finally:
        await a.stop()
        await b.stop()


async def _bound_sessions(gw: Gateway) -> int:
    """Bound transceivers, as the gateway's metrics count them."""
    text = (await gw.metrics.scrape(None)).decode()
    [line] = [
        x for x in text.splitlines() if x.startswith('smppgw_bound_sessions{bind_type="trx"}')
    ]
    return int(float(line.split()[-1]))
