"""``gateway.loadgen`` against node-smpp's ``smsc-sim.js``: any SMPP server, not only ours.

The simulator counts what it received and sent, so both sides' totals are compared: every
submit_sm it answered is one we counted, by status, and every receipt it sent came back
to us, matched to the message id it had given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.loadgen import BindType, LoadOptions, run_load
from gateway.loadgen.messages import Kind
from tests.interop.peers import HOST, NodePeers, SmscSim

pytestmark = pytest.mark.node


async def test_against_smsc_sim_with_rejections_and_receipts(
    node_peers: NodePeers, tmp_path: Path
) -> None:
    sim = SmscSim(node_peers, tmp_path, {"dlr-delay-ms": 5, "reject-every": 10})
    with sim:
        result = await run_load(
            LoadOptions(
                host=HOST,
                port=sim.port,
                system_id="loadgen",
                password="pw",
                binds=2,
                window=20,
                count=2000,
                receipts=True,
                mix={Kind.GSM7: 1, Kind.UCS2: 1},
                to={"DE": 1, "US": 1},
            )
        )
        totals = sim.stop()
    s = result.stats
    assert result.complete and s.binds_ok == 2
    assert s.sent == s.answered == 2000 == totals["submit_sm"]
    assert s.statuses() == {"ESME_ROK": 1800, "ESME_RTHROTTLED": 200}
    assert totals["submit_ok"] == s.accepted == 1800
    assert s.receipts == s.receipts_matched == totals["receipts_sent"] == 1800
    assert totals["receipts_acked"] == 1800  # we answered every deliver_sm
    assert totals["unbind"] == 2
    assert s.latency.count == 2000 and (s.latency.percentile_ms(99) or 0) > 0


async def test_paced_run_for_a_duration_on_tx_with_a_receiver(
    node_peers: NodePeers, tmp_path: Path
) -> None:
    with SmscSim(node_peers, tmp_path, {"dlr-delay-ms": 5}) as sim:
        result = await run_load(
            LoadOptions(
                host=HOST,
                port=sim.port,
                system_id="loadgen",
                password="pw",
                bind_type=BindType.TX,
                rx_binds=1,
                binds=2,
                rate=400.0,
                duration_s=1.5,
                receipts=True,
            )
        )
        totals = sim.stop()
    s = result.stats
    assert totals["submit_sm"] == s.sent == s.accepted
    assert 560 <= s.sent <= 610  # 400/s for 1.5 s (the first burst is 1 % of a second)
    assert s.receipts_matched == s.accepted  # receipts reach the rx bind


async def test_a_slow_bind_keeps_its_link_alive(node_peers: NodePeers, tmp_path: Path) -> None:
    """5 submits a second: 200 ms between writes, so enquire_link every 100 ms of quiet."""
    with SmscSim(node_peers, tmp_path) as sim:
        result = await run_load(
            LoadOptions(
                host=HOST,
                port=sim.port,
                system_id="loadgen",
                password="pw",
                rate=5.0,
                duration_s=1.2,
                enquire_link_s=0.1,
            )
        )
        totals = sim.stop()
    assert result.complete and totals["submit_sm"] == result.stats.sent >= 6
    assert totals["enquire_link"] >= 3
