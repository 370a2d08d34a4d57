"""1 vs 2 gateways on one PostgreSQL ledger, same total load (docs/scaling.md).

    .venv/bin/python benchmarks/multi_gateway.py --repeat 3 --count 40000

Each run: a fresh schema, node smsc-sim as the upstream, N `smppgw serve` processes on
that schema, and N loadgens (binds and messages split evenly) started together. The
figure is total accepted messages over the wall time of the slowest loadgen. Everything
runs on this machine, so gateways compete for the same 2 cores with the peers and
PostgreSQL: what scales here is the ledger's correctness, not the hardware.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.run import pg_dsn, pg_execute, wait_quiet  # noqa: E402
from tests.interop.peers import (  # noqa: E402
    GatewayProcess,
    SmscSim,
    run_loadgen,
    setup_peers,
)

SYSTEM_ID, PASSWORD = "smpp-bench", "bench123"


def run(gateways: int, count: int, binds: int, window: int, dlr: bool) -> dict[str, Any]:
    """One run; returns accepted msg/s, receipts matched and loadgen summaries."""
    peers = setup_peers()
    schema = f"bench_{secrets.token_hex(4)}"
    url = f"{pg_dsn()}?schema={schema}"
    workdir = Path(tempfile.mkdtemp(prefix="smppgw-multi-"))
    wait_quiet(0.3, 20)
    with SmscSim(peers, workdir, {"dlr-delay-ms": 50}, max_runtime_s=400) as sim:
        gws = [
            GatewayProcess(workdir / f"gw{i}", upstream_port=sim.port, ledger_env=url)
            for i in range(gateways)
        ]
        try:
            gws[0].cli("db", "upgrade")
            gws[0].cli(
                "account", "create", SYSTEM_ID, "--password", PASSWORD,
                "--allow-ip", "127.0.0.1/32", "--sender", "1:12345", "--max-binds", "64",
            )  # fmt: skip
            gws[0].cli("credits", "add", SYSTEM_ID, str(count * 2), "--key", "bench")
            for gw in gws:
                gw.start()
            options = {
                "system-id": SYSTEM_ID,
                "password": PASSWORD,
                "binds": binds // gateways,
                "window": window,
                "count": count // gateways,
                "registered-delivery": int(dlr),
                "receipt-wait-ms": 10_000,
                "dst": "33612345000",
                "dst-vary": 1,
                "src": "12345",
            }
            started = time.monotonic()
            with ThreadPoolExecutor(gateways) as pool:
                results = list(
                    pool.map(
                        lambda gw: run_loadgen(peers, gw.port, timeout_s=300, options=options),
                        gws,
                    )
                )
            wall = time.monotonic() - started
        finally:
            for gw in gws:
                gw.stop()
            pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    ok = sum(r.summary["ok"] for r in results)
    matched = sum(r.summary.get("receipts_matched", 0) for r in results)
    return {"msg_s": ok / wall, "ok": ok, "receipts_pct": 100 * matched / max(ok, 1)}


def main() -> int:
    """Run the comparison and print a markdown table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--count", type=int, default=40_000)
    p.add_argument("--binds", type=int, default=4)
    p.add_argument("--window", type=int, default=50)
    p.add_argument("--dlr", action="store_true", help="ask for a receipt per message")
    a = p.parse_args()
    # Interleaved (1, 2, 1, 2, ...): this VM's speed drifts within minutes, so only runs
    # taken side by side compare.
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(a.repeat):
        for n in runs:
            runs[n].append(run(n, a.count, a.binds, a.window, a.dlr))
    print("| gateways | runs | accepted msg/s, median [min-max] | receipts matched % |")
    print("|---|---|---|---|")
    for n, rs in runs.items():
        rates = sorted(r["msg_s"] for r in rs)
        pct = f"{statistics.median(r['receipts_pct'] for r in rs):.1f}" if a.dlr else "-"
        print(
            f"| {n} | {len(rs)} | {statistics.median(rates):,.0f} "
            f"[{rates[0]:,.0f}-{rates[-1]:,.0f}] | {pct} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
