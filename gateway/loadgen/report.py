"""What a run prints: the live progress line, the plain summary, the JSON result. Pure."""

from __future__ import annotations

from typing import Any

from gateway.loadgen.ledger_check import LedgerCheck
from gateway.loadgen.runner import RunResult
from gateway.loadgen.stats import RunStats


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _top(counts: dict[str, int], limit: int = 3) -> str:
    shown = [f"{name}={n}" for name, n in list(counts.items())[:limit]]
    if len(counts) > limit:
        shown.append(f"+{len(counts) - limit} more")
    return " ".join(shown) or "none"


def progress_line(stats: RunStats, elapsed_s: float, rate: float) -> str:
    """One line for a terminal: totals, the last interval's rate and percentiles."""
    recent = stats.recent
    return (
        f"{elapsed_s:6.1f}s sent {stats.sent} answered {stats.answered} ({rate:,.0f}/s)"
        f" p50 {_ms(recent.percentile_ms(50))} p99 {_ms(recent.percentile_ms(99))} ms"
        f" | {_top(stats.statuses())} | receipts {stats.receipts}"
    )


def summary_text(result: RunResult, ledger: LedgerCheck | None = None) -> str:
    """The plain summary printed at the end of a run."""
    o, s = result.options, result.stats
    lat = s.latency
    lines = [
        f"target      {o.host}:{o.port} as {o.system_id}, {o.binds} x {o.bind_type.value}"
        f" bind(s) window {o.window}" + (f" + {o.rx_binds} rx" if o.rx_binds else ""),
        f"offered     {'as fast as possible' if not o.rate else f'{o.rate:g}/s'}"
        + (f" for {o.duration_s:g} s" if o.duration_s else f", {o.count} submit_sm"),
        f"binds       {s.binds_ok} bound, {s.bind_failures} failed"
        + (f" ({'; '.join(s.bind_errors[:3])})" if s.bind_errors else ""),
        f"submits     sent {s.sent}, answered {s.answered}, accepted {s.accepted},"
        f" timeouts {s.timeouts}, unanswered {result.unanswered}",
        f"rate        {result.rate:,.0f} answered/s over {result.elapsed_s:.3f} s"
        f" (wall {result.wall_s:.2f} s)",
        f"latency ms  p50 {_ms(lat.percentile_ms(50))} p90 {_ms(lat.percentile_ms(90))}"
        f" p99 {_ms(lat.percentile_ms(99))} max {_ms(lat.max_s * 1e3 if lat.count else None)}",
        f"statuses    {_top(s.statuses(), limit=8)}",
    ]
    if o.receipts or s.receipts:
        stats = " ".join(f"{k}={n}" for k, n in s.receipts_by_stat.most_common())
        lines.append(
            f"receipts    {s.receipts} received, {s.receipts_matched} matched,"
            f" {result.receipts_missing} missing ({stats or 'none'})"
        )
    if s.mo:
        lines.append(f"mo          {s.mo} deliver_sm that were not receipts")
    if s.disconnects:
        lines.append(f"disconnects {s.disconnects} bind(s) closed by the server during the run")
    if ledger is not None:
        lines.append(f"ledger      {ledger.describe()}")
    return "\n".join(lines)


def result_json(result: RunResult, ledger: LedgerCheck | None = None) -> dict[str, Any]:
    """The JSON result of a run (``--json FILE``)."""
    o, s = result.options, result.stats
    lat = s.latency
    return {
        "target": f"{o.host}:{o.port}",
        "system_id": o.system_id,
        "bind_type": o.bind_type.value,
        "binds": o.binds,
        "rx_binds": o.rx_binds,
        "window": o.window,
        "rate_target": o.rate,
        "count": None if o.duration_s else o.count,
        "duration_s": o.duration_s,
        "receipts_requested": o.receipts,
        "mix": {k.value: w for k, w in o.mix.items()},
        "to": dict(o.to),
        "binds_ok": s.binds_ok,
        "bind_failures": s.bind_failures,
        "bind_errors": s.bind_errors,
        "sent": s.sent,
        "answered": s.answered,
        "accepted": s.accepted,
        "timeouts": s.timeouts,
        "unanswered": result.unanswered,
        "by_status": s.statuses(),
        "receipts": s.receipts,
        "receipts_matched": s.receipts_matched,
        "receipts_missing": result.receipts_missing,
        "receipts_by_stat": dict(s.receipts_by_stat.most_common()),
        "mo": s.mo,
        "disconnects": s.disconnects,
        "elapsed_s": round(result.elapsed_s, 3),
        "wall_s": round(result.wall_s, 3),
        "rate_per_s": round(result.rate),
        "latency_ms": {
            "p50": lat.percentile_ms(50),
            "p90": lat.percentile_ms(90),
            "p99": lat.percentile_ms(99),
            "max": round(lat.max_s * 1e3, 3) if lat.count else None,
            "mean": lat.mean_ms(),
        },
        "complete": result.complete,
        "ledger": ledger.as_dict() if ledger is not None else None,
    }


__all__ = ["progress_line", "result_json", "summary_text"]
