"""The performance issue's table from one ``benchmarks/run.py`` session.

``run.py --doc docs/benchmarks.md`` writes the block between ``BEGIN`` and ``END`` below:
each scenario's accepted rate as a ratio to the raw Node<->Node rate of the same session
(``direct`` for the plain scenarios, ``direct-dlr`` for the ``-dlr`` ones), the verdict
against the targets, the p99 at half each gateway's peak (``--half-rate``), the command,
the commit and the machine, and the profile of the run under py-spy when there was one.
Nothing here measures; it only formats what ``run.py`` measured.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:results:begin (written by benchmarks/run.py --doc) -->"
END = "<!-- bench:results:end -->"

#: The issue's targets: accepted msg/s as a share of the raw rate of the same session.
TARGET_RATIO = {"plain": 0.5, "dlr": 0.4}
#: p99 submit latency (ms) at half the peak rate.
TARGET_P99_HALF_MS = 20.0

Table = Mapping[str, Mapping[str, Sequence[float]]]


def raw_for(scenario: str) -> str:
    """The raw scenario a gateway scenario compares with."""
    return "direct-dlr" if scenario.split("@")[0].endswith("-dlr") else "direct"


def ratio(table: Table, scenario: str) -> float | None:
    """Median accepted msg/s of ``scenario`` over the median of its raw scenario."""
    raw = table.get(raw_for(scenario))
    if raw is None or scenario not in table or raw["msg_s"][0] <= 0:
        return None
    return table[scenario]["msg_s"][0] / raw["msg_s"][0]


def verdict(scenario: str, value: float | None) -> str:
    """ "met" or how far short of the issue's ratio target ``value`` is."""
    if value is None:
        return "no raw row"
    target = TARGET_RATIO["dlr" if raw_for(scenario) == "direct-dlr" else "plain"]
    if value >= target:
        return f"met (target {target:g})"
    return f"{target / value:.1f}x short of {target:g}"


def ratio_table(table: Table, half_rate: Mapping[str, Mapping[str, float]]) -> str:
    """One row per scenario: rate, ratio to raw, verdict, CPU per message, p99s."""
    lines = [
        "| scenario | accepted msg/s, median [min-max] | x raw | target | gateway CPU µs/msg "
        "| PostgreSQL CPU µs/msg | peers CPU µs/msg | p99 ms at full load "
        "| p99 ms at half its peak (offered msg/s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, m in table.items():
        med, lo, hi = m["msg_s"]
        rate = f"{med:,.0f} [{lo:,.0f}-{hi:,.0f}]"
        p99 = f"{m['p99_ms'][0]:.1f}"
        peers = m.get("peers_cpu_us_per_msg")
        peers_text = "-" if peers is None else f"{peers[0]:,.0f}"
        db = m.get("db_cpu_us_per_msg")
        db_text = "-" if db is None else f"{db[0]:,.0f}"
        if scenario.startswith("direct"):
            lines.append(f"| {scenario} | {rate} | 1 | raw | - | - | {peers_text} | {p99} | - |")
            continue
        r = ratio(table, scenario)
        half = half_rate.get(scenario)
        half_text = "-"
        if half is not None:
            ok = "met" if half["p99_ms"] <= TARGET_P99_HALF_MS else "over"
            half_text = (
                f"{half['p99_ms']:.1f} ({half['rate']:,.0f}; {ok} {TARGET_P99_HALF_MS:g} ms)"
            )
        lines.append(
            f"| {scenario} | {rate} | {'-' if r is None else f'{r:.2f}'} "
            f"| {verdict(scenario, r)} | {m['gw_cpu_us_per_msg'][0]:,.0f} | {db_text} "
            f"| {peers_text} | {p99} "
            f"| {half_text} |"
        )
    return "\n".join(lines)


def profile_lines(profile: Mapping[str, Any] | None, top: int = 15) -> list[str]:
    """The py-spy profile as Markdown lines (self, then inclusive shares)."""
    if not profile:
        return []
    out = [
        "",
        f"Profile of one `{profile['scenario']}` run under py-spy "
        f"({profile['samples']} samples; `--profile-gil`: the thread holding the GIL):",
        "",
        "| self % | function | | inclusive % | function |",
        "|---|---|---|---|---|",
    ]
    selfs = list(profile["self"])[:top]
    # The outermost frames (module, main, the event loop's run) are 80-100 % of every
    # sample; skip them so the inclusive column shows where the work is.
    incl = [(f, p) for f, p in profile["inclusive"] if p < 80.0][:top]
    for i in range(max(len(selfs), len(incl))):
        s = selfs[i] if i < len(selfs) else ("", "")
        c = incl[i] if i < len(incl) else ("", "")
        out.append(f"| {s[1]} | `{s[0]}` | | {c[1]} | `{c[0]}` |")
    return out


def _commit(repo: Path) -> str:
    try:
        done = subprocess.run(  # noqa: S603 (fixed arguments)
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],  # noqa: S607 (git on PATH, fixed arguments)
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def block(
    *,
    table: Table,
    half_rate: Mapping[str, Mapping[str, float]],
    profile: Mapping[str, Any] | None,
    machine: Mapping[str, Any],
    command: str,
    repo: Path,
    when: str,
) -> str:
    """The whole block ``--doc`` writes (markers included)."""
    parts = [
        BEGIN,
        f"Measured {when} on commit `{_commit(repo)}`; machine: {machine.get('nproc')} cores "
        f"({machine.get('cpu')}), load average at start {machine.get('loadavg_at_start')}, "
        f"Python {machine.get('python')}, Node {machine.get('node')}.",
        "",
        "```",
        command,
        "```",
        "",
        ratio_table(table, half_rate),
        *profile_lines(profile),
        END,
    ]
    return "\n".join(parts)


def write_doc(path: Path, text: str) -> None:
    """Replace the block between the markers in ``path`` (appended if it has none)."""
    doc = path.read_text() if path.exists() else ""
    start, end = doc.find(BEGIN), doc.find(END)
    if start != -1 and end != -1 and end > start:
        doc = doc[:start] + text + doc[end + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc)
