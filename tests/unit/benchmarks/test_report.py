"""benchmarks/report.py: ratios to the raw rate, verdicts, and the block in the doc."""

from __future__ import annotations

from pathlib import Path

from benchmarks import report


def _row(
    msg_s: float, cpu: float = 0.0, p99: float = 5.0, db: float | None = None
) -> dict[str, list[float]]:
    row = {
        "msg_s": [msg_s, msg_s * 0.9, msg_s * 1.1],
        "gw_cpu_us_per_msg": [cpu, cpu, cpu],
        "peers_cpu_us_per_msg": [120.0, 110.0, 130.0],
        "p99_ms": [p99, p99, p99],
    }
    if db is not None:
        row["db_cpu_us_per_msg"] = [db, db, db]
    return row


TABLE = {
    "direct": _row(16_000),
    "direct-dlr": _row(8_000),
    "sqlite": _row(2_000, cpu=250),
    "postgres-dlr": _row(4_000, cpu=300, db=210),
    "sqlite@base": _row(1_600, cpu=300),
}


def test_each_gateway_scenario_is_compared_with_the_raw_row_of_its_kind() -> None:
    assert report.ratio(TABLE, "sqlite") == 2_000 / 16_000
    assert report.ratio(TABLE, "postgres-dlr") == 0.5
    assert report.ratio(TABLE, "sqlite@base") == 0.1
    assert report.ratio({"sqlite": _row(1)}, "sqlite") is None


def test_the_verdict_says_how_far_short_a_ratio_is() -> None:
    assert report.verdict("sqlite", 0.125) == "4.0x short of 0.5"
    assert report.verdict("postgres-dlr", 0.5) == "met (target 0.4)"
    assert report.verdict("sqlite", None) == "no raw row"


def test_the_table_shows_ratio_verdict_and_the_half_rate_p99() -> None:
    half = {"sqlite": {"rate": 1_000, "p50_ms": 4.0, "p99_ms": 25.5}}
    lines = report.ratio_table(TABLE, half).splitlines()
    sqlite = next(line for line in lines if line.startswith("| sqlite |"))
    assert "| 0.12 | 4.0x short of 0.5 | 250 | - | 120 |" in sqlite  # its ledger is inside
    assert "25.5 (1,000; over 20 ms)" in sqlite
    postgres = next(line for line in lines if line.startswith("| postgres-dlr |"))
    assert "| 300 | 210 | 120 |" in postgres  # the database server's CPU has its column
    direct = next(line for line in lines if line.startswith("| direct |"))
    assert "| 1 | raw | - | - | 120 |" in direct


def test_the_block_replaces_the_previous_one_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nbefore\n\n{report.BEGIN}\nold table\n{report.END}\n\nafter\n")
    report.write_doc(doc, f"{report.BEGIN}\nnew table\n{report.END}")
    text = doc.read_text()
    assert "old table" not in text
    assert text.index("before") < text.index("new table") < text.index("after")
    assert text.count(report.BEGIN) == 1


def test_a_doc_without_the_markers_gets_the_block_appended(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    report.write_doc(doc, f"{report.BEGIN}\nt\n{report.END}")
    assert doc.read_text().endswith(f"{report.END}\n")
    assert doc.read_text().startswith("# Benchmarks\n")
