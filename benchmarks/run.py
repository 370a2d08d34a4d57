"""smppgw benchmarks: loadgen.js -> [smppgw serve] -> smsc-sim.js, side by side.

Scenarios (``--scenarios``, comma-separated; default: all that can run here):

- ``direct`` / ``direct-dlr``: loadgen straight to smsc-sim, without / with a delivery
  receipt per message: the raw Node<->Node limit of this machine.
- ``sqlite`` / ``sqlite-dlr``: loadgen -> ``smppgw serve`` (shipped defaults, SQLite ledger
  in a fresh temporary directory) -> smsc-sim.
- ``postgres`` / ``postgres-dlr``: the same with ``SMPPGW_LEDGER_URL`` pointing at a fresh
  schema of ``$SMPPGW_BENCH_PG_DSN`` (default: ``$SMPPGW_TEST_PG_DSN``, else
  ``postgresql://postgres@127.0.0.1:5432/test``); skipped when unreachable.
- ``sqlite-quiet`` / ``postgres-quiet`` (opt-in): as ``sqlite`` / ``postgres`` with
  ``logging.level = "warning"``, to see what the shipped ``info`` level costs.

``--baseline DIR`` runs every gateway scenario a second time with the gateway of another
checkout (``DIR``, e.g. a ``git worktree`` of the commit before a change), reported as
``SCENARIO@base``: before and after, interleaved in one session.

Each scenario runs ``--repeat`` times (interleaved, so slow drift of the machine spreads
over all scenarios), each time with fresh processes and a fresh ledger; the table gives the
median and [min-max]. Every process is bounded (timeouts, killed in ``finally``) and all
traffic stays on 127.0.0.1. ``--profile SCENARIO`` adds one run of a gateway scenario
under py-spy (``pip install py-spy``) and prints where the gateway's CPU goes.

    python benchmarks/run.py --repeat 3 --count 50000 --json /tmp/bench.json
    python benchmarks/run.py --scenarios sqlite --repeat 1 --profile sqlite

Figures are for this machine at this moment: check ``uptime`` first, and never assert on
them in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from benchmarks import report  # noqa: E402 (needs the sys.path line above)
from benchmarks.measure import (  # noqa: E402 (needs the sys.path line above)
    CpuSampler,
    PySpy,
    children_cpu_seconds,
    cpu_seconds,
    loadavg,
    machine,
    machine_busy_seconds,
    postgres_cpu_seconds,
    profile_report,
    steal_seconds,
    wait_quiet,
)
from tests.interop.peers import (  # noqa: E402 (needs the sys.path line above)
    GatewayProcess,
    NodePeers,
    PeerFailed,
    PeersUnavailable,
    SmscSim,
    run_loadgen,
    setup_peers,
)

SYSTEM_ID = "smpp-bench"
PASSWORD = "bench123"  # noqa: S105 — the bench account's, on a throw-away ledger
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
SCENARIOS = ("direct", "direct-dlr", "sqlite", "sqlite-dlr", "postgres", "postgres-dlr")
#: Opt-in variants: the same with logging.level = "warning" (no per-message log lines), to
#: measure what the shipped "info" level costs in the same session as the rest.
QUIET = ("sqlite-quiet", "postgres-quiet")
#: How often smsc-sim prints its submit counter; we read it to see forwarding catch up.
SIM_STATS_MS = 100


# -- PostgreSQL -------------------------------------------------------------------------
def pg_dsn() -> str:
    """The server PostgreSQL scenarios use."""
    return (
        os.environ.get("SMPPGW_BENCH_PG_DSN")
        or os.environ.get("SMPPGW_TEST_PG_DSN")
        or DEFAULT_PG_DSN
    )


def pg_execute(statement: str) -> None:
    """Run one statement on a fresh connection (schema set-up and clean-up)."""
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(pg_dsn(), timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(go())


def pg_problem() -> str | None:
    """Why PostgreSQL scenarios cannot run here, or None."""
    if not (REPO / "ledger" / "backends" / "postgres.py").is_file():
        return "ledger/backends/postgres.py does not exist yet"
    try:
        pg_execute("SELECT 1")
    except Exception as e:
        return f"{pg_dsn()}: {type(e).__name__}: {e}"
    return None


# -- one run ----------------------------------------------------------------------------
@dataclass
class Options:
    """What every run of a benchmark session shares."""

    count: int
    binds: int
    window: int
    dlr_delay_ms: int
    log_level: str
    rate: int
    quiet_below: float
    quiet_wait_s: float
    timeout_s: float
    workdir: Path
    settings: dict[str, dict[str, str | int | float | bool]] = field(default_factory=dict)
    #: Checkout whose gateway the ``@base`` scenarios run (``--baseline``).
    baseline: Path | None = None


def sim_counter(path: Path) -> int:
    """The last submit_sm count smsc-sim printed to its stderr."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return 0
    found = re.findall(r"submit_sm=(\d+)", text)
    return int(found[-1]) if found else 0


def run_once(
    scenario: str,
    peers: NodePeers,
    opts: Options,
    *,
    on_gateway: Callable[[int], Callable[[], None]] | None = None,
) -> dict[str, Any]:
    """One run of ``scenario``: fresh simulator, fresh gateway and ledger, one loadgen.

    ``on_gateway(pid)``, if given, is called once the gateway serves and returns a
    function called when loadgen has finished (the profiler hook).
    """
    name, _, variant = scenario.partition("@")
    backend = name.removesuffix("-dlr").removesuffix("-quiet")
    dlr = name.endswith("-dlr")
    log_level = "warning" if name.endswith("-quiet") else opts.log_level
    repo = opts.baseline if variant == "base" and opts.baseline is not None else REPO
    rundir = Path(tempfile.mkdtemp(prefix=f"{scenario}-", dir=opts.workdir))
    busy_before = wait_quiet(opts.quiet_below, opts.quiet_wait_s) if opts.quiet_wait_s else None
    started = {"loadavg": loadavg(), "time": time.time(), "busy_cores_before": busy_before}
    sim_opts: dict[str, str | int] = {
        "dlr-delay-ms": opts.dlr_delay_ms,
        "stats-ms": SIM_STATS_MS,
    }
    loadgen_opts: dict[str, str | int] = {
        "system-id": SYSTEM_ID,
        "password": PASSWORD,
        "binds": opts.binds,
        "window": opts.window,
        "count": opts.count,
        "registered-delivery": int(dlr),
        "receipt-wait-ms": 10_000,
        # Valid French mobiles (1 credit each); varying them defeats any cache as a
        # real campaign to distinct numbers would.
        "dst": "33612345000",
        "dst-vary": 1,
        "src": "12345",
        "rate": opts.rate,
    }
    schema = None
    result: dict[str, Any] = {"scenario": scenario, "started": started}
    with SmscSim(peers, rundir, sim_opts, max_runtime_s=int(opts.timeout_s) + 60) as sim:
        sim_err = rundir / f"smsc-sim-{sim.port}.err"
        port = sim.port
        gw: GatewayProcess | None = None
        try:
            if backend != "direct":
                ledger_env = None
                if backend == "postgres":
                    schema = f"bench_{secrets.token_hex(4)}"
                    ledger_env = f"{pg_dsn()}?schema={schema}"
                settings = {k: dict(v) for k, v in opts.settings.items()}
                settings.setdefault("logging", {})["level"] = log_level
                gw = GatewayProcess(
                    rundir / "gw",
                    upstream_port=sim.port,
                    ledger_env=ledger_env,
                    settings=settings,
                    repo=repo,
                )
                gw.write_config()
                if backend == "postgres":
                    gw.cli("db", "upgrade")
                gw.cli(
                    "account", "create", SYSTEM_ID, "--password", PASSWORD,
                    "--allow-ip", "127.0.0.1/32", "--sender", "1:12345", "--max-binds", "64",
                )  # fmt: skip
                gw.cli("credits", "add", SYSTEM_ID, str(opts.count * 2), "--key", "bench")
                gw.start()
                port = gw.port
            after_load = on_gateway(gw.pid) if (gw is not None and on_gateway) else None
            cpu0 = {"gateway": cpu_seconds(gw.pid) if gw else 0.0, "sim": cpu_seconds(sim.pid)}
            kids0 = children_cpu_seconds()
            db0 = postgres_cpu_seconds() if backend == "postgres" else 0.0
            busy0 = machine_busy_seconds()
            steal0 = steal_seconds()
            t0 = time.monotonic()
            sampler = CpuSampler()
            sampler.watch("sim", sim.pid)
            if gw is not None:
                sampler.watch("gateway", gw.pid)
            sampler.start()
            try:
                lg = run_loadgen(
                    peers,
                    port,
                    timeout_s=opts.timeout_s,
                    options=loadgen_opts,
                    on_start=lambda pid: sampler.watch("loadgen", pid),
                )
                wall = time.monotonic() - t0
                if after_load is not None:
                    after_load()
                summary = lg.summary
                # Forwarding may trail the acknowledgements: wait until the simulator has
                # seen every accepted message (its counter is printed every 100 ms).
                target = summary["ok"]
                t1 = time.monotonic()
                while sim_counter(sim_err) < target and time.monotonic() - t1 < 60:
                    time.sleep(0.05)
                lag = time.monotonic() - t1
            finally:
                sampler.stop()
            peak = {k: round(sampler.peak(k), 3) for k in ("gateway", "sim", "loadgen", "machine")}
            cpu1 = {"gateway": cpu_seconds(gw.pid) if gw else 0.0, "sim": cpu_seconds(sim.pid)}
            cpu = {k: round(cpu1[k] - cpu0[k], 3) for k in cpu0}
            cpu["loadgen"] = round(children_cpu_seconds() - kids0, 3)
            if backend == "postgres":
                cpu["postgres"] = round(postgres_cpu_seconds() - db0, 3)
            cpu["machine"] = round(machine_busy_seconds() - busy0, 3)
            cpu["steal"] = round(steal_seconds() - steal0, 3)
            if gw is not None:
                result["gateway_exit"] = gw.stop()
        finally:
            if gw is not None:
                gw.stop()
            if schema is not None:
                try:
                    pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                except Exception as e:  # leave the run's figures; say what was left behind
                    print(f"bench: could not drop schema {schema}: {e}", file=sys.stderr)
        totals = sim.stop()
    result.update(
        loadgen=summary,
        loadgen_exit=lg.returncode,
        loadgen_wall_s=round(wall, 3),
        forward_lag_s=round(lag, 2),
        cpu_s=cpu,
        peak_cores=peak,
        sim=totals,
    )
    if gw is not None and gw.returncode not in (0, None):
        result["gateway_log_tail"] = gw.log_text()[-2000:]
    shutil.rmtree(rundir, ignore_errors=True)
    return result


def metrics(r: dict[str, Any]) -> dict[str, float]:
    """The figures of one run that go in the table."""
    lg = r["loadgen"]
    out = {
        # Accepted (ESME_ROK) per second: refusals are answered fast and must not count.
        "msg_s": lg["ok"] / max(lg["elapsed_s"], 1e-9),
        "p50_ms": lg["p50_ms"] or 0.0,
        "p99_ms": lg["p99_ms"] or 0.0,
        "ok_pct": 100.0 * lg["ok"] / max(lg["sent"], 1),
        "forward_lag_s": r["forward_lag_s"],
        # Cores used over the busiest 0.5 s of the run: is a process saturated?
        "gw_cores": r["peak_cores"]["gateway"],
        # All the gateway's CPU for the run (receipt handling included) per message.
        "gw_cpu_us_per_msg": 1e6 * r["cpu_s"]["gateway"] / max(lg["ok"], 1),
        # The two Node peers' CPU per message: what the gateway's core budget is left of.
        "peers_cpu_us_per_msg": 1e6
        * (r["cpu_s"]["sim"] + r["cpu_s"].get("loadgen", 0.0))
        / max(lg["ok"], 1),
        "sim_cores": r["peak_cores"]["sim"],
        "loadgen_cores": r["peak_cores"]["loadgen"],
        "machine_cores": r["peak_cores"]["machine"],
        # What else the machine was doing just before (other engineers' tests...).
        "busy_before": r["started"]["busy_cores_before"] or 0.0,
    }
    if "postgres" in r["cpu_s"]:
        # The database server's CPU per message (SQLite's is in the gateway's).
        out["db_cpu_us_per_msg"] = 1e6 * r["cpu_s"]["postgres"] / max(lg["ok"], 1)
    if lg["registered_delivery"]:
        out["receipts_pct"] = 100.0 * lg["receipts_matched"] / max(lg["ok"], 1)
    return out


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per scenario, per metric: [median, min, max]."""
    by: dict[str, list[dict[str, float]]] = {}
    for r in runs:
        by.setdefault(r["scenario"], []).append(metrics(r))
    table: dict[str, dict[str, list[float]]] = {}
    for scenario, ms in by.items():
        table[scenario] = {
            k: [statistics.median(m[k] for m in ms), min(m[k] for m in ms), max(m[k] for m in ms)]
            for k in ms[0]
        }
    return table


def _fmt(stat: list[float] | None, digits: int = 0) -> str:
    if stat is None:
        return "-"
    med, lo, hi = stat
    return f"{med:,.{digits}f} [{lo:,.{digits}f}-{hi:,.{digits}f}]"


def markdown(table: dict[str, dict[str, list[float]]], repeats: dict[str, int]) -> str:
    """The summary as a Markdown table (median [min-max])."""
    head = (
        "| scenario | runs | accepted msg/s | p50 ms | p99 ms | receipts matched % | forward lag s "
        "| ok % | gateway cores* | gateway CPU µs/msg | smsc-sim cores* | loadgen cores* "
        "| machine cores* | machine cores before |"
    )
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for scenario, m in table.items():
        gw = scenario.startswith(("sqlite", "postgres"))
        lines.append(
            "| "
            + " | ".join(
                [
                    scenario,
                    str(repeats[scenario]),
                    _fmt(m["msg_s"]),
                    _fmt(m["p50_ms"], 1),
                    _fmt(m["p99_ms"], 1),
                    _fmt(m.get("receipts_pct"), 1),
                    _fmt(m["forward_lag_s"], 1) if gw else "-",
                    _fmt(m["ok_pct"], 1),
                    _fmt(m["gw_cores"], 2) if gw else "-",
                    _fmt(m["gw_cpu_us_per_msg"]) if gw else "-",
                    _fmt(m["sim_cores"], 2),
                    _fmt(m["loadgen_cores"], 2),
                    _fmt(m["machine_cores"], 2),
                    _fmt(m["busy_before"], 2),
                ]
            )
            + " |"
        )
    lines.append("\n\\* busiest 0.5 s of the run; median [min-max] over runs")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The runner's command line."""
    p = argparse.ArgumentParser(
        prog="benchmarks/run.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {', '.join(SCENARIOS + QUIET)} (default: all but -quiet)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per scenario (default 3)")
    p.add_argument("--count", type=int, default=50_000, help="messages per run")
    p.add_argument("--binds", type=int, default=4)
    p.add_argument("--window", type=int, default=50, help="outstanding submits per bind")
    p.add_argument("--dlr-delay-ms", type=int, default=50, help="smsc-sim receipt delay")
    p.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="gateway logging.level (default: info, the shipped default)",
    )
    p.add_argument("--rate", type=int, default=0, help="cap on total submits/s (0: none)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="extra gateway setting, e.g. upstream.window=100 (repeat)",
    )
    p.add_argument(
        "--quiet-below",
        type=float,
        default=0.3,
        metavar="CORES",
        help="start a run once the machine uses fewer cores than this for 1 s (default 0.3)",
    )
    p.add_argument(
        "--quiet-wait-s",
        type=float,
        default=120.0,
        help="wait at most this long for that (0: do not wait; default 120)",
    )
    p.add_argument("--timeout-s", type=float, default=300.0, help="per loadgen run")
    p.add_argument("--profile", metavar="SCENARIO", help="one more run under py-spy")
    p.add_argument(
        "--profile-gil", action="store_true", help="profile only the thread holding the GIL"
    )
    p.add_argument("--profile-out", metavar="PATH", help="keep py-spy's raw profile here")
    p.add_argument("--json", metavar="PATH", help="write every run and the summary here")
    p.add_argument(
        "--half-rate",
        action="store_true",
        help="then run each gateway scenario once more at half its measured peak (p99)",
    )
    p.add_argument(
        "--doc",
        metavar="PATH",
        type=Path,
        help="write the ratio table (and profile) into PATH between the bench:results markers",
    )
    p.add_argument(
        "--baseline",
        metavar="DIR",
        type=Path,
        help="also run each gateway scenario with the gateway of checkout DIR (SCENARIO@base)",
    )
    return p


def _setting(text: str) -> tuple[str, str, str | int | float | bool]:
    key, _, raw = text.partition("=")
    section, _, name = key.partition(".")
    if not (section and name and raw):
        raise SystemExit(f"--set wants SECTION.KEY=VALUE, not {text!r}")
    value: str | int | float | bool = raw
    if raw in ("true", "false"):
        value = raw == "true"
    else:
        for kind in (int, float):
            try:
                value = kind(raw)
                break
            except ValueError:
                pass
    return section, name, value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; print the table; 0 if every run completed."""
    args = build_parser().parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS + QUIET]
    if unknown:
        known = SCENARIOS + QUIET
        print(f"bench: unknown scenario(s) {unknown}; choose from {known}", file=sys.stderr)
        return 2
    try:
        peers = setup_peers()
    except PeersUnavailable as e:
        print(f"bench: Node peers unavailable: {e}", file=sys.stderr)
        return 2
    if any(s.startswith("postgres") for s in [*scenarios, args.profile or ""]):
        problem = pg_problem()
        if problem is not None:
            print(f"bench: skipping PostgreSQL scenarios: {problem}", file=sys.stderr)
            scenarios = [s for s in scenarios if not s.startswith("postgres")]
    if args.baseline is not None:
        if not (args.baseline / "gateway" / "app.py").is_file():
            print(f"bench: --baseline {args.baseline} is not an smppgw checkout", file=sys.stderr)
            return 2
        scenarios = [
            v
            for s in scenarios
            for v in ([s, f"{s}@base"] if s != "direct" and not s.startswith("direct-") else [s])
        ]
    settings: dict[str, dict[str, str | int | float | bool]] = {}
    for text in args.set:
        section, name, value = _setting(text)
        settings.setdefault(section, {})[name] = value

    info = machine()
    print(f"bench: {json.dumps(info)}", file=sys.stderr)
    runs: list[dict[str, Any]] = []
    failures = 0
    with tempfile.TemporaryDirectory(prefix="smppgw-bench-") as tmp:
        opts = Options(
            count=args.count,
            binds=args.binds,
            window=args.window,
            dlr_delay_ms=args.dlr_delay_ms,
            log_level=args.log_level,
            rate=args.rate,
            quiet_below=args.quiet_below,
            quiet_wait_s=args.quiet_wait_s,
            timeout_s=args.timeout_s,
            workdir=Path(tmp),
            settings=settings,
            baseline=args.baseline.resolve() if args.baseline is not None else None,
        )
        for rep in range(args.repeat):
            for scenario in scenarios:
                try:
                    r = run_once(scenario, peers, opts)
                except (PeerFailed, OSError) as e:
                    failures += 1
                    print(f"bench: {scenario} #{rep + 1} failed: {e}", file=sys.stderr)
                    continue
                runs.append(r)
                m = metrics(r)
                shown = " ".join(f"{k}={v:.4g}" for k, v in m.items())
                print(f"bench: {scenario} #{rep + 1}: {shown}", file=sys.stderr)
        half_rate = _half_rate_runs(args, summarize(runs), peers, opts) if args.half_rate else {}
        profile = None
        if args.profile:
            raw = Path(args.profile_out or Path(tmp) / "profile.txt")
            spy = PySpy(raw, gil=args.profile_gil)
            try:
                r = run_once(args.profile, peers, opts, on_gateway=spy.attach)
                profile = {"scenario": args.profile, "run": metrics(r), **profile_report(raw)}
            except (PeerFailed, OSError) as e:
                failures += 1
                print(f"bench: profile run failed: {e}", file=sys.stderr)
    table = summarize(runs)
    repeats = Counter(r["scenario"] for r in runs)
    print(markdown(table, repeats))
    if profile is not None:
        print(f"\nprofile of one {profile['scenario']} run ({profile['samples']} samples):")
        for title in ("self_by_file", "self", "inclusive"):
            print(f"  {title}:")
            for name, pct in profile[title]:
                print(f"    {pct:5.1f}%  {name}")
    if half_rate or any(s.startswith("direct") for s in table):
        print()
        print(report.ratio_table(table, half_rate))
    if args.json:
        doc: dict[str, Any] = {"machine": info, "args": vars(args), "runs": runs}
        doc |= {"summary": table, "profile": profile, "half_rate": half_rate}
        Path(args.json).write_text(json.dumps(doc, indent=2, default=str))
    if args.doc is not None:
        command = "python benchmarks/run.py " + " ".join(argv or sys.argv[1:])
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        text = report.block(
            table=table,
            half_rate=half_rate,
            profile=profile,
            machine=info,
            command=command,
            repo=REPO,
            when=when,
        )
        report.write_doc(args.doc, text)
        print(f"bench: wrote the results into {args.doc}", file=sys.stderr)
    return 1 if failures else 0


def _half_rate_runs(
    args: argparse.Namespace,
    table: dict[str, dict[str, list[float]]],
    peers: NodePeers,
    opts: Options,
) -> dict[str, dict[str, float]]:
    """One more run of each gateway scenario offered half its median peak: the p99 the
    issue's latency target is about (a saturated gateway's p99 is its queue)."""
    out: dict[str, dict[str, float]] = {}
    for scenario, m in table.items():
        if scenario.startswith("direct") or "@" in scenario:
            continue
        rate = max(1, int(m["msg_s"][0] / 2))
        try:
            r = run_once(scenario, peers, replace(opts, rate=rate))
        except (PeerFailed, OSError) as e:
            print(f"bench: {scenario} at half rate failed: {e}", file=sys.stderr)
            continue
        got = metrics(r)
        out[scenario] = {"rate": rate, "p50_ms": got["p50_ms"], "p99_ms": got["p99_ms"]}
        print(
            f"bench: {scenario} at {rate}/s: p50 {got['p50_ms']:.1f} ms p99 {got['p99_ms']:.1f} ms",
            file=sys.stderr,
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
