"""What the benchmark runner measures besides loadgen's figures: the machine and CPU.

CPU seconds per process and for the whole machine (``/proc``), the busiest cores over a
run (:class:`CpuSampler`), waiting for a quiet machine before a run, and py-spy profiles
of the gateway (:class:`PySpy`, :func:`profile_report`). Linux only, like the runner.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the machine ------------------------------------------------------------------------
def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10)  # noqa: S607 — node from PATH, as the interop peers run it
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "loadavg_at_start": loadavg(),
        "python": platform.python_version(),
        "node": node.stdout.strip(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
    }


def _stat(pid: int | str) -> tuple[str, list[str]]:
    """A process's command name and the fields after it (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces: split at its closing paren.
        head, _, rest = f.read().rpartition(")")
    return head.partition("(")[2], rest.split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, all its threads included."""
    fields = _stat(pid)[1]
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def postgres_cpu_seconds() -> float:
    """CPU of the local PostgreSQL server: every ``postgres`` process's utime + stime,
    plus what its reaped children used (backends of connections closed meanwhile)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            name, fields = _stat(entry)
        except OSError:  # gone meanwhile
            continue
        if name == "postgres":
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def _proc_stat() -> list[int]:
    with open("/proc/stat") as f:
        # user nice system idle iowait irq softirq steal ...
        return [int(v) for v in f.readline().split()[1:]]


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent working since boot (/proc/stat): everything counts,
    the PostgreSQL server and other people's processes included."""
    v = _proc_stat()
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK


def steal_seconds() -> float:
    """CPU seconds the hypervisor gave to someone else while we wanted them (a VM)."""
    return _proc_stat()[7] / CLK_TCK


def wait_quiet(threshold: float, max_wait_s: float) -> float:
    """Wait (at most ``max_wait_s``) for a second in which the machine used less than
    ``threshold`` cores; return the cores used in the last second measured.

    Other people run tests on this machine: starting a run in the middle of theirs would
    measure them as much as us.
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy < threshold or time.monotonic() >= deadline:
            return round(busy, 2)


def children_cpu_seconds() -> float:
    """CPU of reaped children so far (loadgen is the only one reaped during a run)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class CpuSampler:
    """CPU counters of some processes and of the machine, sampled in a thread.

    Totals over a whole run mix the busy submit phase with idle moments (binding, the
    wait for late receipts); ``peak`` gives the busiest ``window`` seconds instead, which
    is what shows whether a process is saturated.
    """

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self.pids: dict[str, int] = {}
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def watch(self, name: str, pid: int) -> None:
        """Sample ``pid`` as ``name`` from now on."""
        self.pids[name] = pid

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Take a last sample and stop."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.period)
        self._sample()

    def _sample(self) -> None:
        row = {"machine": machine_busy_seconds()}
        for name, pid in list(self.pids.items()):
            with contextlib.suppress(OSError, IndexError):  # gone: loadgen at the very end
                row[name] = cpu_seconds(pid)
        self.samples.append((time.monotonic(), row))

    def peak(self, name: str, window: float = 0.5) -> float:
        """The most cores ``name`` used over any ``window`` seconds (0.0 if unknown)."""
        best, j = 0.0, 0
        samples = [(t, row[name]) for t, row in self.samples if name in row]
        for t, value in samples:
            while j + 1 < len(samples) and t - samples[j + 1][0] >= window:
                j += 1
            t0, v0 = samples[j]
            if t - t0 >= window:
                best = max(best, (value - v0) / (t - t0))
        return best


# -- profiling --------------------------------------------------------------------------
class PySpy:
    """py-spy record attached to the gateway for the duration of loadgen."""

    def __init__(self, out: Path, rate: int = 500, *, gil: bool = False) -> None:
        exe = Path(sys.executable).parent / "py-spy"
        self.exe = str(exe) if exe.is_file() else shutil.which("py-spy")
        self.out = out
        self.rate = rate
        self.gil = gil
        self.proc: subprocess.Popen[bytes] | None = None

    def attach(self, pid: int) -> Callable[[], None]:
        """Start recording ``pid``; the returned function stops and writes the profile."""
        if self.exe is None:
            raise FileNotFoundError("py-spy not found: pip install py-spy")
        cmd = [self.exe, "record", "-p", str(pid), "-r", str(self.rate), "--format", "raw"]
        cmd += ["-o", str(self.out), "--nonblocking"]
        # --gil: only the thread holding the GIL, i.e. what keeps the one core busy;
        # without it, threads blocked in SQLite (fsync) count as busy too.
        cmd += ["--gil"] if self.gil else []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 — a command built here
        time.sleep(0.5)  # let it attach before the load starts
        return self.stop

    def stop(self) -> None:
        """SIGINT makes py-spy write its output and exit."""
        if self.proc is None:
            return
        try:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)


_LOC = re.compile(r" \((.*?)(?::\d+)?\)$")


def _frame(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``, lines merged."""
    m = _LOC.search(frame)
    if not m:
        return frame
    path = m.group(1)
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.replace(str(REPO) + "/", "")
    return f"{frame[: m.start()]} ({path})"


def profile_report(path: Path, top: int = 12) -> dict[str, Any]:
    """Self and inclusive shares of samples from a py-spy raw (collapsed) file."""
    self_n: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = [_frame(f) for f in stack.split(";")]
        if not frames:
            continue
        total += count
        self_n[frames[-1]] += count
        for f in set(frames):
            incl[f] += count

    def share(count: int) -> float:
        return round(100.0 * count / max(total, 1), 1)

    by_file: Counter[str] = Counter()
    for f, c in self_n.items():
        m = re.search(r"\((.*)\)$", f)
        by_file[m.group(1) if m else f] += c
    return {
        "samples": total,
        "self_by_file": [(f, share(c)) for f, c in by_file.most_common(top)],
        "self": [(f, share(c)) for f, c in self_n.most_common(top)],
        "inclusive": [(f, share(c)) for f, c in incl.most_common(top * 3)],
    }
