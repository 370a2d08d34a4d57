"""The load generator's histogram, counts, budget, options and report (pure)."""

from __future__ import annotations

import random

import pytest

from gateway.loadgen.plan import BindType, Budget, LoadOptions
from gateway.loadgen.report import progress_line, result_json, summary_text
from gateway.loadgen.runner import RunResult
from gateway.loadgen.stats import LatencyHistogram, RunStats, status_name


def options(**changes: object) -> LoadOptions:
    base: dict[str, object] = {"host": "127.0.0.1", "port": 2775, "system_id": "a"}
    return LoadOptions(password="b", **(base | changes))  # type: ignore[arg-type]


def test_percentiles_are_within_the_bucket_precision() -> None:
    rng = random.Random(1)
    samples = [rng.lognormvariate(-6, 1) for _ in range(50_000)]  # ~2.5 ms median
    hist = LatencyHistogram()
    for s in samples:
        hist.add(s)
    ordered = sorted(samples)
    for p in (50, 90, 99, 99.9):
        exact = ordered[max(0, int(p / 100 * len(ordered)) - 1)] * 1e3
        got = hist.percentile_ms(p)
        assert got == pytest.approx(exact, rel=0.025), p
    assert hist.percentile_ms(100) == round(max(samples) * 1e3, 3)
    assert hist.mean_ms() == round(sum(samples) / len(samples) * 1e3, 3)
    other = LatencyHistogram()
    other.add(0.5)
    hist.merge(other)
    assert hist.count == 50_001 and hist.max_s == 0.5
    hist.clear()
    assert hist.percentile_ms(50) is None and hist.count == 0


def test_tiny_and_huge_latencies_land_in_the_edge_buckets() -> None:
    hist = LatencyHistogram()
    hist.add(0.0)
    hist.add(1e-7)
    hist.add(10_000.0)
    assert hist.percentile_ms(1) == 0.001  # everything under 1 us is the first bucket
    assert hist.percentile_ms(100) == 10_000_000.0


def test_counts_by_status_name() -> None:
    stats = RunStats()
    for status in (0, 0, 0x58, 0x403, 0xABCD):
        stats.answer(status, 0.001)
    assert stats.accepted == 2 and stats.answered == 5
    assert stats.statuses() == {
        "ESME_ROK": 2, "ESME_RTHROTTLED": 1, "ESME_RNOCREDIT": 1, "0x0000abcd": 1
    }  # fmt: skip
    assert status_name(0x0B) == "ESME_RINVDSTADR"


def test_budget_by_count_lets_a_long_message_finish() -> None:
    budget = Budget(options(count=3), now=0.0)
    assert [budget.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take(0.0) is None
    assert budget.take(0.0, more=True) == 0.0  # the rest of a message begun in time
    assert budget.sent == 4 and budget.exhausted(0.0)


def test_budget_by_duration_and_rate() -> None:
    budget = Budget(options(duration_s=2.0, rate=100.0), now=10.0)
    sent = 0
    now = 10.0
    while (wait := budget.take(now)) is not None:
        if wait:
            now += wait + 1e-9  # a clock moves on; float sums alone might not
        else:
            sent += 1
    assert now == pytest.approx(12.0, abs=0.011)
    assert 200 <= sent <= 202  # 100/s for 2 s, plus the first burst (1 % of a second)


def test_options_problems_name_each_mistake() -> None:
    assert options().problems() == []
    wrong = options(
        port=0, binds=0, window=0, rate=-1.0, count=0, receipts=True, bind_type=BindType.TX
    ).problems()
    assert wrong == [
        "port 0 is not 1-65535",
        "--binds must be at least 1",
        "--window must be at least 1",
        "--rate cannot be negative",
        "--count must be at least 1",
        "--receipts with --bind-type tx needs --rx-binds N (a receiver)",
    ]
    assert options(duration_s=0.0).problems() == ["--duration must be positive"]


def test_report_shapes() -> None:
    stats = RunStats(sent=10, binds_ok=2)
    for _ in range(9):
        stats.answer(0, 0.002)
    stats.answer(0x58, 0.004)
    stats.receipts = stats.receipts_matched = 9
    stats.receipts_by_stat["DELIVRD"] = 9
    result = RunResult(options(receipts=True), stats, elapsed_s=0.5, wall_s=0.7)
    assert result.rate == 20.0 and result.complete
    text = summary_text(result)
    assert "rate        20 answered/s over 0.500 s" in text
    assert "statuses    ESME_ROK=9 ESME_RTHROTTLED=1" in text
    assert "receipts    9 received, 9 matched, 0 missing (DELIVRD=9)" in text
    document = result_json(result)
    assert document["by_status"] == {"ESME_ROK": 9, "ESME_RTHROTTLED": 1}
    assert document["latency_ms"]["p50"] == pytest.approx(2.0, rel=0.025)
    assert document["rate_per_s"] == 20 and document["ledger"] is None
    line = progress_line(stats, 1.5, 1234.4)
    assert line.startswith("   1.5s sent 10 answered 10 (1,234/s) p50 2.0")
    assert "ESME_ROK=9 ESME_RTHROTTLED=1 | receipts 9" in line
