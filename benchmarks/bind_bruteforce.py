"""Brute force against a real client: wrong-password binds vs one honest bind a second.

``--attempts`` wrong-password binds (default 1000) from ``--attackers`` parallel
connections (default 16) on 127.0.0.1, each attempt a fresh connection, while a real
client binds from 127.0.0.2 every ``--interval`` seconds until the attack is over (and for
at least ``--min-s``). ``--spread N`` sends the guesses from N addresses in turn
(127.1.x.y) instead: a distributed attacker. The real client binds as another account
(``other``) or as the very system_id the attacker guesses at (``same``). Modes: ``on``
(the shipped limits: failures counted per address and per system_id, one password check
queued per address), ``queue`` (the per-address queue only, no failure counting) and
``off`` (nothing: every attempt hashed). Prints one JSON object per run: the real
client's bind latencies (its first bind, p50, p99, max, in ms), the attackers' statuses,
the attack's duration and the gateway's CPU seconds.

    .venv/bin/python benchmarks/bind_bruteforce.py --attempts 1000

``--storm N`` instead binds the real password N times from ``--attackers`` parallel
connections (each a fresh connection, bound then closed) after one first bind: a
reconnect storm of a client the gateway has verified before.

``--storm N --held`` is the storm after an outage: N clients bind and STAY bound (the
gateway's RSS is read with all N sessions up), then every connection drops at once and
all N bind again, ``--attackers`` binds in flight at a time: how long until all N are
bound again, and the RSS then.

Figures are for this machine at this moment (check ``uptime``); never assert on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from benchmarks.measure import cpu_seconds  # noqa: E402
from gateway.smpp import BindTransmitter, PduReader, decode, encode  # noqa: E402

#: The tree whose gateway runs (``--gateway-tree``): this one, or a worktree of another
#: commit, to measure before and after with the same client.
GATEWAY_TREE = [REPO]
SYSTEM_ID = "smpp-bench"
#: The real client's own account when it does not share the attacker's system_id.
OTHER_ID = "smpp-real"
#: [server] keys of each mode.
_KEYS = ("bind_max_failures", "bind_system_id_max_failures", "bind_hashes_per_address")
MODES: dict[str, dict[str, int]] = {
    "on": dict(zip(_KEYS, (5, 20, 1), strict=True)),
    "queue": dict(zip(_KEYS, (0, 0, 1), strict=True)),
    "off": dict(zip(_KEYS, (0, 0, 0), strict=True)),
}
PASSWORD = "bench123"  # noqa: S105 — the benchmark account, on a throw-away ledger


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_threads(target: Callable[[], None], n: int) -> float:
    """Run ``target`` in ``n`` threads at once; the seconds until all are done."""
    t0 = time.monotonic()
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def _bind_once(
    port: int,
    source_ip: str,
    password: str,
    *,
    prefix: bytes = b"",
    system_id: str = SYSTEM_ID,
) -> tuple[int, float]:
    """One connection, one bind (after ``prefix``, e.g. a PROXY header); (command_status
    or -1 if closed unanswered, seconds)."""
    t0 = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.bind((source_ip, 0))
        s.connect(("127.0.0.1", port))
        bind = BindTransmitter(sequence_number=1, system_id=system_id, password=password)
        s.sendall(prefix + encode(bind))
        reader = PduReader()
        while True:
            data = s.recv(4096)
            if not data:
                return -1, time.perf_counter() - t0
            reader.feed(data)
            frames = list(reader.frames())
            if frames:
                return decode(frames[0]).command_status, time.perf_counter() - t0


def _cli(config: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 — this interpreter running the gateway under test
        [sys.executable, "-m", "gateway", "--config", str(config), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=GATEWAY_TREE[0],
    )


_CREATE_ACCOUNTS = """
import asyncio, sys
from ledger import open_store
from ledger.models import NewAccount
from ledger.passwords import hash_password

async def main(url, prefix, n, password):
    store = await open_store(url)
    try:
        hashed = hash_password(password)
        for k in range(n):
            await store.create_account(NewAccount(
                system_id=f"{prefix}-{k}", password_hash=hashed,
                allowed_ips=("127.0.0.0/8",), max_binds=1000))
    finally:
        await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
"""


def _create_accounts(config: Path, n: int) -> None:
    """``n`` storm accounts at once through the gateway tree's ledger (``account create``
    is a process each); one password hash for all, they share the password."""
    url = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in config.read_text().splitlines()
        if line.startswith("url")
    )
    subprocess.run(  # noqa: S603 — this interpreter, on the tree under test
        [sys.executable, "-c", _CREATE_ACCOUNTS, url, SYSTEM_ID, str(n), PASSWORD],
        check=True,
        cwd=GATEWAY_TREE[0],
    )


def run(mode: str, shared: bool, opts: argparse.Namespace) -> dict[str, Any]:
    """One gateway, one attack (or storm), one real client; the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="bind-bruteforce-"))
    port = _free_port()
    config = workdir / "smppgw.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        # A storm sets no key of this work: the same config runs an older tree's gateway.
        + ("" if opts.storm else "".join(f"{k} = {v}\n" for k, v in MODES[mode].items()))
        + "max_connections_per_address = 20000\nmax_connections = 20000\n"
        f'[ledger]\nurl = "sqlite:///{workdir / "ledger.db"}"\n'
        f'[pricing]\ntariff = "{REPO / "config" / "tariff.csv"}"\n'
        '[simulator]\nport = 0\n[logging]\nlevel = "error"\n'
    )
    _cli(config, "db", "upgrade")
    if opts.storm and opts.accounts > 1:
        _create_accounts(config, opts.accounts)
    for account in (SYSTEM_ID, OTHER_ID):
        _cli(
            config, "account", "create", account, "--password", PASSWORD,
            "--allow-ip", "127.0.0.0/8", "--max-binds", "20000",
        )  # fmt: skip
    proc = subprocess.Popen(  # noqa: S603 — this interpreter running the gateway under test
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=GATEWAY_TREE[0],
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        if opts.storm and opts.held:
            return _held_storm(port, proc.pid, opts)
        if opts.storm:
            return _storm(port, proc.pid, opts)
        cpu0 = cpu_seconds(proc.pid)
        statuses: Counter[int] = Counter()
        left = [opts.attempts]
        lock = threading.Lock()
        done = threading.Event()

        # --spread N: the guesses come from N addresses in turn (127.1.x.y), a
        # distributed attacker no per-address count stops.
        sources = (
            ["127.0.0.1"]
            if opts.spread <= 1
            else [f"127.1.{k // 250}.{k % 250 + 1}" for k in range(opts.spread)]
        )

        def attacker() -> None:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                    source = sources[left[0] % len(sources)]
                    # A new guess each time, as an attacker makes them: identical checks
                    # running at once share one hash, which would flatter the figures.
                    guess = f"w{left[0]:07d}"
                status, _ = _bind_once(port, source, guess)
                with lock:
                    statuses[status] += 1

        latencies: list[float] = []
        real_statuses: Counter[int] = Counter()
        real_id = SYSTEM_ID if shared else OTHER_ID

        def real_client() -> None:
            started = time.monotonic()
            while not done.is_set() or time.monotonic() - started < opts.min_s:
                status, seconds = _bind_once(port, "127.0.0.2", PASSWORD, system_id=real_id)
                real_statuses[status] += 1
                latencies.append(seconds * 1000)
                time.sleep(opts.interval)

        real = threading.Thread(target=real_client)
        real.start()
        attack_s = _run_threads(attacker, opts.attackers)
        done.set()
        real.join()
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(10)
    lat = sorted(latencies)
    return {
        "mode": mode,
        "real_client": "same system_id" if shared else "other account",
        "attempts": opts.attempts,
        "attackers": opts.attackers,
        "attack_s": round(attack_s, 2),
        "attacker_statuses": {f"0x{k:x}" if k >= 0 else "closed": v for k, v in statuses.items()},
        "real_binds": len(lat),
        "real_statuses": {f"0x{k:x}": v for k, v in real_statuses.items()},
        "spread": opts.spread,
        "real_bind_ms": {
            "first": round(latencies[0], 1),
            "p50": round(statistics.median(lat), 1),
            "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            "max": round(lat[-1], 1),
        },
        "gateway_cpu_s": round(cpu, 2),
    }


def _rss_mb(pid: int) -> float:
    """The resident set size of ``pid`` in MB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return -1.0


def _storm_client(n: int, accounts: int) -> tuple[str, str]:
    """(system_id, source address) of the ``n``-th storm client: with ``--accounts K``,
    account ``n % K``, each bound from an address of its own (127.2.x.y)."""
    if accounts <= 1:
        return SYSTEM_ID, "127.0.0.1"
    k = n % accounts
    return f"{SYSTEM_ID}-{k}", f"127.2.{k // 250}.{k % 250 + 1}"


async def _bind_held(
    port: int, sem: asyncio.Semaphore, system_id: str = SYSTEM_ID, source: str = "127.0.0.1"
) -> tuple[int, float, asyncio.StreamWriter | None]:
    """Open a connection and bind; (status, seconds, the open writer when bound)."""
    async with sem:
        t0 = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(
            encode(BindTransmitter(sequence_number=1, system_id=system_id, password=PASSWORD))
        )
        frames = PduReader()
        while True:
            data = await reader.read(4096)
            if not data:
                writer.close()
                return -1, time.perf_counter() - t0, None
            frames.feed(data)
            got = list(frames.frames())
            if got:
                status = decode(got[0]).command_status
                if status != 0:
                    writer.close()
                    return status, time.perf_counter() - t0, None
                return 0, time.perf_counter() - t0, writer


async def _held_round(
    port: int, n: int, parallel: int, accounts: int = 1
) -> tuple[list[Any], float]:
    sem = asyncio.Semaphore(parallel)
    t0 = time.monotonic()
    results = await asyncio.gather(
        *(_bind_held(port, sem, *_storm_client(i, accounts)) for i in range(n))
    )
    return list(results), time.monotonic() - t0


def _py_spy(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` (every thread, idle ones left out) into ``out``, a
    flame graph (``.svg``) or a collapsed-stack text file (any other name)."""
    fmt = "flamegraph" if out.endswith(".svg") else "raw"
    py_spy = str(Path(sys.executable).parent / "py-spy")
    spy = subprocess.Popen(  # noqa: S603 — the profiler installed in this venv
        [py_spy, "record", "-p", str(pid), "-o", out, "-f", fmt, "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # attached before the round starts
    return spy


def _held_storm(port: int, pid: int, opts: argparse.Namespace) -> dict[str, Any]:
    """N bound sessions, all dropped at once, all bound again (see the module doc)."""
    first, _ = _bind_once(port, "127.0.0.1", PASSWORD)
    assert first == 0, f"first bind: 0x{first:x}"
    rss_idle = _rss_mb(pid)

    async def main() -> dict[str, Any]:
        bound, first_wall = await _held_round(port, opts.storm, opts.attackers, opts.accounts)
        await asyncio.sleep(2)  # let the gateway settle: bound sessions only
        rss_bound = _rss_mb(pid)
        for _, _, w in bound:
            if w is not None:
                w.transport.abort()  # the outage: every link drops at once
        await asyncio.sleep(2)  # the gateway notices and frees them
        spy = _py_spy(pid, opts.profile) if opts.profile else None
        cpu0 = cpu_seconds(pid)
        again, wall = await _held_round(port, opts.storm, opts.attackers, opts.accounts)
        cpu = cpu_seconds(pid) - cpu0
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            spy.wait(60)
        await asyncio.sleep(2)
        rss_again = _rss_mb(pid)
        for _, _, w in again:
            if w is not None:
                w.close()
        lat = sorted(s * 1000 for _, s, _ in again)
        return {
            "storm": opts.storm,
            "held": True,
            "accounts": opts.accounts,
            "first_round_statuses": {
                f"0x{k:x}" if k >= 0 else "closed": v
                for k, v in Counter(st for st, _, _ in bound).items()
            },
            "parallel": opts.attackers,
            "first_round_s": round(first_wall, 2),
            "rebind_wall_s": round(wall, 2),
            "binds_per_s": round(opts.storm / wall),
            "statuses": {
                f"0x{k:x}" if k >= 0 else "closed": v
                for k, v in Counter(st for st, _, _ in again).items()
            },
            "bind_ms": {
                "p50": round(statistics.median(lat), 1),
                "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            },
            "gateway_cpu_s": round(cpu, 2),
            "rss_mb": {"idle": rss_idle, "bound": rss_bound, "rebound": rss_again},
        }

    return asyncio.run(main())


def _storm(port: int, pid: int, opts: argparse.Namespace) -> dict[str, Any]:
    """``opts.storm`` binds with the right password, after a first one (verified)."""
    first, first_s = _bind_once(port, "127.0.0.1", PASSWORD)
    assert first == 0, f"first bind: 0x{first:x}"
    cpu0 = cpu_seconds(pid)
    left = [opts.storm]
    lock = threading.Lock()
    statuses: Counter[int] = Counter()
    latencies: list[float] = []

    def client() -> None:
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            status, seconds = _bind_once(port, "127.0.0.1", PASSWORD)
            with lock:
                statuses[status] += 1
                latencies.append(seconds * 1000)

    wall = _run_threads(client, opts.attackers)
    lat = sorted(latencies)
    return {
        "storm": opts.storm,
        "parallel": opts.attackers,
        "first_bind_ms": round(first_s * 1000, 1),
        "wall_s": round(wall, 2),
        "binds_per_s": round(opts.storm / wall),
        "statuses": {f"0x{k:x}": v for k, v in statuses.items()},
        "bind_ms": {
            "p50": round(statistics.median(lat), 1),
            "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
        },
        "gateway_cpu_s": round(cpu_seconds(pid) - cpu0, 2),
    }


def main() -> int:
    """Run every mode with each kind of real client; one JSON line each."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--attempts", type=int, default=1000)
    p.add_argument("--attackers", type=int, default=16)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between real binds")
    p.add_argument("--min-s", type=float, default=10.0, help="least seconds the real client runs")
    p.add_argument("--only", choices=tuple(MODES), help="run one mode")
    p.add_argument(
        "--spread", type=int, default=1, help="attack from N addresses in turn (127.1.x.y)"
    )
    p.add_argument(
        "--real", choices=("other", "same"), help="run one kind of real client (default both)"
    )
    p.add_argument("--storm", type=int, default=0, help="reconnect storm of N binds instead")
    p.add_argument(
        "--held", action="store_true", help="with --storm: N sessions held, then all rebind"
    )
    p.add_argument(
        "--gateway-tree",
        type=Path,
        default=REPO,
        help="run the gateway of this tree (a worktree of another commit); default: this one",
    )
    p.add_argument(
        "--accounts",
        type=int,
        default=1,
        help="with --storm --held: spread the clients over K accounts, each from an "
        "address of its own (127.2.x.y)",
    )
    p.add_argument(
        "--profile",
        metavar="OUT",
        help="with --storm --held: py-spy the gateway during the re-binds into OUT "
        "(.svg: a flame graph; else collapsed stacks); needs `pip install py-spy`",
    )
    opts = p.parse_args()
    GATEWAY_TREE[0] = opts.gateway_tree.resolve()
    if opts.storm:
        print(json.dumps(run("on", False, opts)), flush=True)
        return 0
    for shared in (False, True):
        if opts.real and opts.real != ("same" if shared else "other"):
            continue
        for mode in MODES:
            if opts.only and opts.only != mode:
                continue
            print(json.dumps(run(mode, shared, opts)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
