"""cancel_sm and replace_sm with two gateway processes on one PostgreSQL ledger: a message
another gateway's forwarder holds is refused with a clear status and never refunded
while that gateway may still send it (issue 9).

Real parts: two `smppgw serve` processes, PostgreSQL, raw-socket clients, and the
built-in simulator as the upstream both gateways use, started only once the refusals
have been checked (until then every message waits in the forwarder of the gateway that
accepted it).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gateway.simulator import UpstreamSimulator
from gateway.smpp import CancelSm, QuerySm, QuerySmResp, ReplaceSm, SubmitSmResp
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from ledger.models import EntryKind, MessageState
from tests.integration.harness import PASSWORD, in_thread, make_account, until
from tests.integration.procs import GatewayProcess, free_port, write_config
from tests.integration.raw_esme import RawEsme
from tests.integration.test_cancel_query import _by_address, _submit

pytestmark = pytest.mark.postgres


async def _bound(port: int) -> RawEsme:
    esme = await in_thread(RawEsme, port)
    assert await in_thread(esme.bind, "trx", "smpp-two", PASSWORD) == S.ESME_ROK
    return esme


async def _sent(esme: RawEsme, text: bytes) -> str:
    resp = await in_thread(esme.call, _submit(text=text))
    assert isinstance(resp, SubmitSmResp)
    assert resp.command_status == S.ESME_ROK
    return resp.message_id


async def _refunds(store: Store) -> list[str]:
    entries = await store.journal("smpp-two", limit=1000)
    return sorted(e.message_id or "" for e in entries if e.kind is EntryKind.REFUND)


async def test_a_message_held_by_another_gateway_is_refused_and_never_refunded(
    pg_url: str, tmp_path: Path
) -> None:
    store = await open_store(pg_url)
    await store.upgrade()
    await make_account(store, "smpp-two", credits="10")
    upstream_port = free_port()  # nothing listens yet: every message stays held
    ports = {"a": free_port(), "b": free_port()}
    gateways = {
        name: GatewayProcess(
            write_config(
                tmp_path / f"{name}.toml",
                port=port,
                upstream_port=upstream_port,
                ledger_url=pg_url,
            ),
            port,
        )
        for name, port in ports.items()
    }
    sim = UpstreamSimulator(port=upstream_port, dlr_delay_ms=10, keep_ids=True)
    clients: list[RawEsme] = []
    try:
        for g in gateways.values():
            await g.start()
        on_a, on_b = await _bound(ports["a"]), await _bound(ports["b"])
        clients += [on_a, on_b]
        first, second, kept = [await _sent(on_a, t) for t in (b"first", b"second", b"kept")]
        owner = f"{socket.gethostname()}:{ports['a']}"
        for mid in (first, second, kept):
            message = await store.get_message(mid)
            assert (message.state, message.owner) == (MessageState.ACCEPTED, owner)
        assert (await store.get_account("smpp-two")).balance == 7_000

        # Through gateway B: each refused, nothing refunded, nothing changed.
        for pdu, status in [
            (CancelSm(sequence_number=0, message_id=first), S.ESME_RCANCELFAIL),
            (
                ReplaceSm(sequence_number=0, message_id=first, short_message=b"x"),
                S.ESME_RREPLACEFAIL,
            ),
            (_by_address(), S.ESME_RCANCELFAIL),
        ]:
            got = await in_thread(on_b.call, pdu)
            assert got.command_status == status, pdu
        assert (await store.get_account("smpp-two")).balance == 7_000
        assert await _refunds(store) == []
        assert (await store.get_message(first)).cost == 1_000

        # Through gateway A, which holds them: cancelled and refunded, once each.
        got = await in_thread(on_a.call, CancelSm(sequence_number=0, message_id=first))
        assert got.command_status == S.ESME_ROK
        resp = await in_thread(on_b.call, QuerySm(sequence_number=0, message_id=first))
        assert isinstance(resp, QuerySmResp)
        assert resp.message_state == 4  # DELETED, read from the shared ledger by B
        got = await in_thread(on_a.call, CancelSm(sequence_number=0, message_id=first))
        assert got.command_status == S.ESME_RCANCELFAIL  # already cancelled
        assert await _refunds(store) == [first]
        assert (await store.get_account("smpp-two")).balance == 8_000

        # The upstream comes up: A forwards what it kept, B sent and refunded nothing.
        got = await in_thread(on_b.call, CancelSm(sequence_number=0, message_id=kept))
        assert got.command_status == S.ESME_RCANCELFAIL
        await sim.start()
        await until(
            lambda: sorted(sim.stats.submitted_messages) == [b"kept", b"second"],
            "A forwards the two messages it kept",
            timeout=15,
        )
        for mid in (second, kept):

            async def sent(mid: str = mid) -> bool:
                return (await store.get_message(mid)).state is not MessageState.ACCEPTED

            await until(sent, f"{mid} recorded as forwarded")
            assert (await store.get_message(mid)).state in (
                MessageState.FORWARDED,
                MessageState.DELIVERED,
            )
        assert await _refunds(store) == [first]
        assert (await store.get_account("smpp-two")).balance == 8_000
        # Forwarded now: by addresses, through either gateway, nothing is left to cancel.
        for esme in (on_a, on_b):
            got = await in_thread(esme.call, _by_address())
            assert got.command_status == S.ESME_RCANCELFAIL
    finally:
        for esme in clients:
            await in_thread(esme.close)
        codes = [await g.stop() for g in gateways.values()]
        await sim.stop()
        assert await store.audit() == []
        await store.close()
    assert codes == [0, 0]
