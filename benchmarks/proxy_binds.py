"""What the PROXY protocol listener costs a reconnect storm: binds/s and bind latency.

One gateway process (SQLite ledger, shipped settings) per mode; ``--binds`` binds with
the right password from ``--parallel`` threads, each a fresh connection (bound, then
closed), after one first bind (so the verified-bind cache answers, and the listener is
what is measured):

- ``direct``: no ``proxy_protocol_from`` (asyncio's own server);
- ``header``: ``proxy_protocol_from = ["127.0.0.1/32"]``, every connection from 127.0.0.1
  starting with a PROXY v2 header naming a client in 192.0.2.0/24, bind in the same write;
- ``beside``: the same listener, clients connecting directly from 127.0.0.2 (the peek
  for a signature, then the hand-over).

Prints one JSON object per mode. Figures are for this machine at this moment (check
``uptime``); never assert on them.

    .venv/bin/python benchmarks/proxy_binds.py --binds 2000
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from benchmarks.bind_bruteforce import PASSWORD, SYSTEM_ID, _bind_once, _cli, _free_port  # noqa: E402
from benchmarks.measure import cpu_seconds  # noqa: E402
from gateway.transport.proxy_header import V2_SIGNATURE  # noqa: E402

MODES = ("direct", "header", "beside")


def _v2(n: int) -> bytes:
    client = ipaddress.IPv4Address("192.0.2.1") + n % 250
    block = client.packed + bytes(4) + struct.pack("!HH", 1024 + n % 60000, 2775)
    return V2_SIGNATURE + b"\x21\x11" + struct.pack("!H", len(block)) + block


def run(mode: str, opts: argparse.Namespace) -> dict[str, Any]:
    """One gateway in ``mode``, one storm; the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="proxy-binds-"))
    port = _free_port()
    config = workdir / "smppgw.toml"
    proxy = 'proxy_protocol_from = ["127.0.0.1/32"]\n' if mode != "direct" else ""
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n{proxy}'
        f'[ledger]\nurl = "sqlite:///{workdir / "ledger.db"}"\n'
        f'[pricing]\ntariff = "{REPO / "config" / "tariff.csv"}"\n'
        '[simulator]\nport = 0\n[logging]\nlevel = "error"\n'
    )
    _cli(config, "db", "upgrade")
    _cli(
        config, "account", "create", SYSTEM_ID, "--password", PASSWORD,
        "--allow-ip", "127.0.0.0/8", "--allow-ip", "192.0.2.0/24", "--max-binds", "1000",
    )  # fmt: skip
    proc = subprocess.Popen(  # noqa: S603 — this interpreter running the gateway under test
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    source = "127.0.0.2" if mode == "beside" else "127.0.0.1"
    try:
        for _ in range(200):
            try:
                # The readiness probe sends a header in header mode, or it is refused.
                _bind_once(port, source, PASSWORD, prefix=_v2(0) if mode == "header" else b"")
                break
            except OSError:
                time.sleep(0.05)
        first, _ = _bind_once(port, source, PASSWORD, prefix=_v2(0) if mode == "header" else b"")
        assert first == 0, f"{mode}: first bind 0x{first:x}"
        cpu0 = cpu_seconds(proc.pid)
        counter = iter(range(opts.binds))
        lock = threading.Lock()
        latencies: list[float] = []
        failed = [0]

        def client() -> None:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                header = _v2(n) if mode == "header" else b""
                status, seconds = _bind_once(port, source, PASSWORD, prefix=header)
                with lock:
                    latencies.append(seconds * 1000)
                    failed[0] += status != 0

        threads = [threading.Thread(target=client) for _ in range(opts.parallel)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(10)
    lat = sorted(latencies)
    return {
        "mode": mode,
        "binds": opts.binds,
        "parallel": opts.parallel,
        "failed": failed[0],
        "wall_s": round(wall, 2),
        "binds_per_s": round(opts.binds / wall),
        "bind_ms": {
            "p50": round(statistics.median(lat), 1),
            "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
        },
        "gateway_cpu_ms_per_bind": round(cpu * 1000 / opts.binds, 2),
    }


def main() -> int:
    """Each mode in turn, ``--repeat`` times; one JSON line per run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binds", type=int, default=2000)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--modes", default=",".join(MODES))
    opts = p.parse_args()
    for _ in range(opts.repeat):
        for mode in opts.modes.split(","):
            print(json.dumps(run(mode, opts)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
