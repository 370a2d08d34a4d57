"""Drive the Node.js SMPP peers and smppgw itself as real subprocesses.

The peers (``smsc-sim.js``, an upstream SMSC, and ``loadgen.js``, a load generator) live
beside the repository in ``../shared/peers`` (or ``$SMPPGW_PEERS_DIR``) and are built on
node-smpp, an SMPP implementation written independently of ours: talking to them is the
interoperability proof. The benchmark runner (``benchmarks/run.py``) uses these helpers
too, so a test and a benchmark start every process the same way.

Every process started here has a bounded lifetime: each wait has a timeout, and each
``stop()`` ends with ``kill()`` in a ``finally``, so a hung peer never outlives its
caller. Output goes to files, never to a pipe nobody reads (a full pipe would block the
child). All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self

REPO = Path(__file__).resolve().parents[2]
#: Overrides where the peers are found (default: ``<repo>/../shared/peers``).
PEERS_ENV = "SMPPGW_PEERS_DIR"
#: Where ``setup.sh`` installs the peers' npm dependency (git-ignored, shared with make).
NODE_MODULES_PREFIX = REPO / ".peers-node"
HOST = "127.0.0.1"


class PeersUnavailable(Exception):
    """node, npm or the peers directory is missing, or their set-up failed."""


class PeerFailed(Exception):
    """A peer or the gateway did not start, did not answer, or printed no result."""


def in_ci() -> bool:
    """True in CI (``CI=true``), where a missing peer is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() == "true"


def peers_unavailable(reason: str) -> NoReturn:
    """In a test: fail (in CI) or skip loudly (elsewhere) because the peers cannot run."""
    import pytest  # here, not at the top: the benchmark runner imports this module too

    message = f"Node SMPP peers unavailable: {reason}"
    if in_ci():
        pytest.fail(f"{message}; CI=true requires the interop tests to run", pytrace=False)
    pytest.skip(f"NOT TESTED AGAINST NODE-SMPP: {message}")


def peers_dir() -> Path:
    """The directory holding ``smsc-sim.js`` and ``loadgen.js``; PeersUnavailable if none."""
    configured = os.environ.get(PEERS_ENV)
    where = Path(configured) if configured else REPO.parent / "shared" / "peers"
    for name in ("smsc-sim.js", "loadgen.js", "setup.sh"):
        if not (where / name).is_file():
            origin = f"from ${PEERS_ENV}" if configured else f"default; set ${PEERS_ENV}"
            raise PeersUnavailable(f"{where / name} not found ({origin})")
    return where.resolve()


@dataclass(frozen=True, slots=True)
class NodePeers:
    """A usable set of peers: the node binary, the scripts and their NODE_PATH."""

    node: str
    directory: Path
    node_path: str

    def env(self) -> dict[str, str]:
        """The environment a peer runs in (ours plus NODE_PATH)."""
        return {**os.environ, "NODE_PATH": self.node_path}

    def script(self, name: str) -> str:
        """Absolute path of one of the peers' scripts."""
        return str(self.directory / name)


def setup_peers(prefix: Path = NODE_MODULES_PREFIX, *, timeout: float = 300.0) -> NodePeers:
    """Find node, npm and the peers, install their npm dependency once into ``prefix``.

    ``setup.sh`` is idempotent (it returns at once when ``smpp`` is already installed), so
    calling this once per test session or benchmark run costs a few milliseconds after
    the first time. Raises PeersUnavailable with the reason.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        raise PeersUnavailable(f"{missing} not found on PATH")
    directory = peers_dir()
    try:
        done = subprocess.run(
            ["bash", str(directory / "setup.sh"), str(prefix)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PeersUnavailable(f"setup.sh did not finish in {timeout:.0f} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip()[-500:]
        raise PeersUnavailable(f"setup.sh failed (exit {done.returncode}): {tail}")
    node_path = lines[-1]
    if not (Path(node_path) / "smpp").is_dir():
        raise PeersUnavailable(f"setup.sh printed {node_path!r}, which holds no smpp module")
    return NodePeers(node=node, directory=directory, node_path=node_path)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now.

    The peers cannot report a port chosen by the kernel, so we pick one; another process
    could take it before the child binds it, which start() reports as a clear failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], *, timeout: float, what: str) -> None:
    """Return once something accepts on ``port``; PeerFailed if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PeerFailed(f"{what} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise PeerFailed(f"{what} not listening on {HOST}:{port} after {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes], *, timeout: float) -> int | None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL. The exit code, None if killed."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
        return proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def last_json_line(text: str) -> dict[str, Any] | None:
    """The last line of ``text`` that is a JSON object (the peers print exactly one)."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value
    return None


# -- smsc-sim ----------------------------------------------------------------------------
@dataclass
class SmscSim:
    """``node smsc-sim.js`` on a port of its own, stopped with SIGTERM for its totals.

    ``options`` are smsc-sim flags (``{"reject-every": 4, "dlr-delay-ms": 10}``).
    ``max_runtime_s`` is passed on so the simulator ends by itself even if we crash.
    """

    peers: NodePeers
    log_dir: Path
    options: dict[str, str | int] = field(default_factory=dict)
    max_runtime_s: int = 300
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    totals: dict[str, Any] | None = None

    @property
    def pid(self) -> int:
        """The simulator's pid (for CPU accounting)."""
        if self.proc is None:
            raise PeerFailed("smsc-sim was never started")
        return self.proc.pid

    @property
    def stdout_path(self) -> Path:
        """File receiving the simulator's stdout (its totals line)."""
        return self.log_dir / f"smsc-sim-{self.port}.out"

    def start(self, *, timeout: float = 15.0) -> None:
        """Start and wait until it accepts connections."""
        args = {"host": HOST, "port": self.port, "max-runtime-s": self.max_runtime_s}
        args |= self.options
        cmd = [self.peers.node, self.peers.script("smsc-sim.js")]
        for key, value in args.items():
            cmd += [f"--{key}", str(value)]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (
            open(self.stdout_path, "wb") as out,
            open(self.log_dir / f"smsc-sim-{self.port}.err", "wb") as err,
        ):
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=err, env=self.peers.env(), start_new_session=True
            )
        try:
            wait_listening(self.port, self.proc, timeout=timeout, what="smsc-sim")
        except BaseException:
            self.stop()
            raise

    def stop(self, *, timeout: float = 10.0) -> dict[str, Any]:
        """SIGTERM it and return the totals it prints (submit_sm, submit_ok, receipts...)."""
        if self.proc is None:
            raise PeerFailed("smsc-sim was never started")
        if self.totals is None:
            _stop(self.proc, timeout=timeout)
            self.totals = last_json_line(self.stdout_path.read_text(errors="replace"))
        if self.totals is None:
            raise PeerFailed(f"smsc-sim printed no totals (see {self.stdout_path})")
        return self.totals

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.totals is None:
            with contextlib.suppress(PeerFailed):
                self.stop()


# -- loadgen ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoadgenResult:
    """One loadgen run: its exit code and its JSON summary line."""

    returncode: int
    summary: dict[str, Any]
    stderr: str

    def __getitem__(self, key: str) -> Any:
        return self.summary[key]


def run_loadgen(
    peers: NodePeers,
    port: int,
    *,
    timeout_s: float,
    options: dict[str, str | int] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> LoadgenResult:
    """Run ``node loadgen.js`` to completion against ``127.0.0.1:port``.

    loadgen is told to stop by itself a few seconds before ``timeout_s``
    (``--max-runtime-s``), and is killed at ``timeout_s`` if it does not. PeerFailed if
    it prints no summary (bind failures still print one, with ``bind_failures``).
    ``on_start(pid)`` is called once it runs (the benchmark samples its CPU).
    """
    hard = max(int(timeout_s) - 5, 1)
    args: dict[str, str | int] = {"host": HOST, "port": port, "max-runtime-s": hard}
    args |= options or {}
    cmd = [peers.node, peers.script("loadgen.js")]
    for key, value in args.items():
        cmd += [f"--{key}", str(value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=peers.env())
    try:
        if on_start is not None:
            on_start(proc.pid)
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise PeerFailed(f"loadgen still running after {timeout_s:.0f} s: {cmd}") from e
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)
    stdout = out.decode(errors="replace")
    stderr = err.decode(errors="replace")
    summary = last_json_line(stdout)
    if summary is None:
        raise PeerFailed(f"loadgen exit {proc.returncode}, no summary; stderr: {stderr[-500:]}")
    return LoadgenResult(proc.returncode, summary, stderr)


# -- the gateway --------------------------------------------------------------------------
def smppgw_command() -> list[str]:
    """How to run ``smppgw`` with the interpreter running us (the venv's entry point)."""
    script = Path(sys.executable).parent / "smppgw"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gateway"]


def _toml(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)  # a JSON string is a valid TOML basic string


@dataclass
class GatewayProcess:
    """``smppgw --config <workdir>/smppgw.toml serve`` as a subprocess.

    The config disables the built-in simulator and points upstream at ``upstream_port``.
    ``ledger_url`` defaults to a SQLite file in ``workdir``; ``SMPPGW_LEDGER_URL`` is
    removed from the child's environment unless ``ledger_env`` sets it, so a developer's
    shell cannot silently point a test at another ledger. ``settings`` adds or overrides
    keys per section (``{"server": {"window": 50}}``).
    """

    workdir: Path
    upstream_port: int
    ledger_url: str | None = None
    ledger_env: str | None = None
    settings: dict[str, dict[str, str | int | float | bool]] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    #: The checkout whose gateway runs (another one for a before/after benchmark).
    repo: Path = REPO
    proc: subprocess.Popen[bytes] | None = None
    returncode: int | None = None

    @property
    def config_path(self) -> Path:
        """The TOML file this gateway runs with."""
        return self.workdir / "smppgw.toml"

    @property
    def log_path(self) -> Path:
        """File receiving the gateway's log lines (stdout and stderr)."""
        return self.workdir / "smppgw.log"

    def write_config(self) -> Path:
        """Write the TOML config (done by start() and cli() if missing)."""
        sections: dict[str, dict[str, str | int | float | bool]] = {
            "server": {"host": HOST, "port": self.port},
            "ledger": {"url": self.ledger_url or f"sqlite:///{self.workdir / 'ledger.db'}"},
            "pricing": {"tariff": str(REPO / "config" / "tariff.csv")},
            "upstream": {
                "host": HOST,
                "port": self.upstream_port,
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 1.0,
            },
            "simulator": {"enabled": False},
            "logging": {"level": "warning"},
        }
        for name, values in self.settings.items():
            sections.setdefault(name, {}).update(values)
        text = "".join(
            f"[{name}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items()) + "\n"
            for name, values in sections.items()
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(text)
        return self.config_path

    def env(self) -> dict[str, str]:
        """The environment of every smppgw process this object starts."""
        env = {k: v for k, v in os.environ.items() if k != "SMPPGW_LEDGER_URL"}
        # The gateway under test is the checkout these helpers live in, even when the
        # venv's editable install points at another one (a benchmark of a snapshot).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.repo), env.get("PYTHONPATH")]))
        if self.ledger_env is not None:
            env["SMPPGW_LEDGER_URL"] = self.ledger_env
        return env

    def cli(self, *args: str, timeout: float = 60.0) -> Any:
        """Run ``smppgw --config ... --json ARGS`` and return its JSON; PeerFailed if it fails."""
        if not self.config_path.is_file():
            self.write_config()
        cmd = [*smppgw_command(), "--config", str(self.config_path), "--json", *args]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, env=self.env(), timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as e:
            raise PeerFailed(f"{' '.join(args)}: no answer in {timeout:.0f} s") from e
        if done.returncode != 0:
            raise PeerFailed(f"smppgw {' '.join(args)}: exit {done.returncode}: {done.stderr}")
        return json.loads(done.stdout)

    def start(self, *, timeout: float = 20.0) -> None:
        """Start ``serve`` and wait until its SMPP port accepts connections."""
        if not self.config_path.is_file():
            self.write_config()
        cmd = [*smppgw_command(), "--config", str(self.config_path), "serve"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True
            )
        try:
            wait_listening(self.port, self.proc, timeout=timeout, what="smppgw serve")
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        """The serve process's pid (for CPU accounting)."""
        if self.proc is None:
            raise PeerFailed("smppgw serve was never started")
        return self.proc.pid

    def stop(self, *, timeout: float = 20.0) -> int | None:
        """SIGTERM (graceful stop), SIGKILL after ``timeout``; the exit code or None."""
        if self.proc is not None and self.returncode is None:
            self.returncode = _stop(self.proc, timeout=timeout)
        return self.returncode

    def log_text(self) -> str:
        """What the gateway logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
