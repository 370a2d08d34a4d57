"""The console's usage chart (gateway.console.chart), pure: SVG out of daily numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from gateway.console.chart import BOTTOM, HEIGHT, TOP, _scale_top, usage_svg
from ledger.models.history import DailyUsage

SVG = "{http://www.w3.org/2000/svg}"
FIRST = date(2026, 11, 4)


def days(*counts: tuple[int, int]) -> list[DailyUsage]:
    return [DailyUsage(FIRST + timedelta(days=i), m, c) for i, (m, c) in enumerate(counts)]


def test_bars_follow_the_messages_and_dots_the_credits() -> None:
    svg = ET.fromstring(usage_svg(days((0, 0), (5, 2_500), (10, 20_000))))  # noqa: S314 — our own markup
    bars = svg.findall(f"{SVG}rect")
    dots = svg.findall(f"{SVG}circle")
    assert [b.get("data-messages") for b in bars] == ["0", "5", "10"]
    assert [d.get("data-credits") for d in dots] == ["0", "2.5", "20"]
    heights = [float(b.get("height", "")) for b in bars]
    plot = HEIGHT - TOP - BOTTOM
    assert heights == [0.0, plot / 2, plot]  # the scale tops at 10 messages
    # The busiest credit day is at the top of its scale (20), the empty one at the base.
    ys = [float(d.get("cy", "")) for d in dots]
    assert ys == [TOP + plot, TOP + plot * (1 - 2.5 / 20), TOP]
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text == (
        "Messages and credits per day, 2026-11-04 to 2026-11-06 (UTC)"
    )
    [tip] = [b.find(f"{SVG}title") for b in bars[1:2]]
    assert tip is not None and tip.text == "2026-11-05: 5 messages, 2.5 credits"


def test_an_empty_month_draws_flat_and_no_days_draw_nothing() -> None:
    svg = ET.fromstring(usage_svg(days(*[(0, 0)] * 30)))  # noqa: S314 — our own markup
    assert len(svg.findall(f"{SVG}rect")) == 30
    assert {b.get("height") for b in svg.findall(f"{SVG}rect")} == {"0.0"}
    assert usage_svg([]) == ""


def test_scales_are_round_numbers() -> None:
    assert [_scale_top(v) for v in (0, 1, 3, 7, 10, 11, 0.3, 1234)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        0.5,
        2000,
    ]
