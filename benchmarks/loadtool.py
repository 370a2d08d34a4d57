"""``smppgw bench`` (the Python load generator) against Node ``loadgen.js``, same run.

Both drive the raw Node ``smsc-sim.js`` (no gateway in between), so the figure is the
load generator's own top rate on this machine: how far ``smppgw bench`` can push a
server before it becomes the bottleneck. Rounds alternate the two tools (the order
flips each round) on a fresh simulator each, so slow drift of a shared machine spreads
over both; the table gives medians and [min-max], the load average before each round,
and the CPU seconds each generator and the simulator used.

    python benchmarks/loadtool.py --repeat 3 --count 30000 --binds 4 --window 50
    python benchmarks/loadtool.py --receipts --count 20000
    nice -n 10 python benchmarks/loadtool.py --json /tmp/loadtool.json

Figures are for this machine at this moment: never assert on them in tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from benchmarks.measure import children_cpu_seconds, cpu_seconds, loadavg  # noqa: E402
from tests.interop.peers import (  # noqa: E402
    HOST,
    NodePeers,
    SmscSim,
    run_loadgen,
    setup_peers,
    smppgw_command,
)


def node_round(
    peers: NodePeers, sim: SmscSim, opts: argparse.Namespace, *, cork: bool = False
) -> dict[str, Any]:
    """One loadgen.js run (``cork``: its ``--cork 1``, writes batched per event-loop turn
    as ``smppgw bench`` batches them per pump): its summary, and the CPU it used."""
    before = children_cpu_seconds()
    result = run_loadgen(
        peers,
        sim.port,
        timeout_s=300,
        options={
            "binds": opts.binds,
            "window": opts.window,
            "count": opts.count,
            "registered-delivery": int(opts.receipts),
            "receipt-wait-ms": 10_000,
            "cork": int(cork),
        },
    )
    s = result.summary
    return {
        "rate": s["rate_per_s"],
        "ok": s["ok"],
        "p50_ms": s["p50_ms"],
        "p99_ms": s["p99_ms"],
        "receipts_matched": s["receipts_matched"],
        "cpu_s": round(children_cpu_seconds() - before, 2),
    }


def python_round(sim: SmscSim, opts: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One ``smppgw bench`` run (its own process): its JSON result and its CPU."""
    out = workdir / f"bench-{time.monotonic_ns()}.json"
    cmd = [
        *smppgw_command(),
        "bench",
        f"{HOST}:{sim.port}",
        "--system-id", "loadgen", "--password", "pw",
        "--binds", str(opts.binds), "--window", str(opts.window),
        "--count", str(opts.count), "--json", str(out), "--progress", "off",
    ]  # fmt: skip
    if opts.receipts:
        cmd.append("--receipts")
    before = children_cpu_seconds()
    # S603: our own command line, built above from numbers.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"smppgw bench exit {done.returncode}: {done.stderr[-500:]}")
    r = json.loads(out.read_text())
    return {
        "rate": r["rate_per_s"],
        "ok": r["accepted"],
        "p50_ms": r["latency_ms"]["p50"],
        "p99_ms": r["latency_ms"]["p99"],
        "receipts_matched": r["receipts_matched"],
        "cpu_s": round(children_cpu_seconds() - before, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/loadtool.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="rounds (each runs both tools)")
    p.add_argument("--count", type=int, default=30_000)
    p.add_argument("--binds", type=int, default=4)
    p.add_argument("--window", type=int, default=50)
    p.add_argument("--receipts", action="store_true", help="registered_delivery=1")
    p.add_argument("--dlr-delay-ms", type=int, default=50)
    p.add_argument(
        "--with-cork", action="store_true", help="also loadgen.js --cork 1 (batched writes)"
    )
    p.add_argument("--json", metavar="FILE", help="every round, every figure")
    opts = p.parse_args(argv)
    peers = setup_peers()
    tools = ["loadgen.js", "smppgw bench"] + (["loadgen.js --cork 1"] if opts.with_cork else [])
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
    with tempfile.TemporaryDirectory(prefix="loadtool-") as tmp:
        workdir = Path(tmp)
        for n in range(opts.repeat):
            order = tools[n % len(tools) :] + tools[: n % len(tools)]  # rotate each round
            for tool in order:
                load = loadavg()
                sim = SmscSim(peers, workdir, {"dlr-delay-ms": opts.dlr_delay_ms})
                with sim:
                    sim_before = cpu_seconds(sim.pid)
                    if tool == "smppgw bench":
                        figures = python_round(sim, opts, workdir)
                    else:
                        figures = node_round(peers, sim, opts, cork="cork" in tool)
                    figures["sim_cpu_s"] = round(cpu_seconds(sim.pid) - sim_before, 2)
                    sim.stop()
                figures["load"] = load
                runs[tool].append(figures)
                print(f"round {n + 1} {tool}: {figures}", file=sys.stderr)
    print(f"| generator ({opts.binds} binds x window {opts.window}, {opts.count:,} msgs"
          f"{', receipts' if opts.receipts else ''}) | msg/s median [min-max] | p50 / p99 ms"
          " | generator CPU s | smsc-sim CPU s |")  # fmt: skip
    print("|---|---|---|---|---|")
    for tool, rounds in runs.items():
        rates = [r["rate"] for r in rounds]
        print(
            f"| {tool} | {statistics.median(rates):,.0f} [{min(rates):,}-{max(rates):,}]"
            f" | {statistics.median(r['p50_ms'] for r in rounds):.1f} /"
            f" {statistics.median(r['p99_ms'] for r in rounds):.1f}"
            f" | {statistics.median(r['cpu_s'] for r in rounds):.2f}"
            f" | {statistics.median(r['sim_cpu_s'] for r in rounds):.2f} |"
        )
    loads = [r["load"][0] for rounds in runs.values() for r in rounds]
    print(f"\nload average (1 min) before the rounds: {min(loads)}-{max(loads)}")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"options": vars(opts), "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
