"""The console's usage chart: messages and credits per day, as an inline SVG (pure).

Server-rendered, so the page needs no script and no build step: one bar per day for
the messages (scale on the left), and a line with a dot per day for the credits spent
(scale on the right), each with a ``<title>`` a browser shows on hover. The numbers are
also in the table under the chart, for reading and for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ledger.models import milli_to_credits
from ledger.models.history import DailyUsage

WIDTH, HEIGHT = 720, 240
#: Room for the scales (left, right), the day labels (bottom) and the top label.
LEFT, RIGHT, TOP, BOTTOM = 48, 56, 16, 28


def _scale_top(value: float) -> float:
    """A round number at or above ``value`` (1, 2 or 5 times a power of ten), for the axis."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def _number(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"{value:.3g}"


def usage_svg(days: Sequence[DailyUsage]) -> str:
    """The chart of ``days`` (oldest first) as an ``<svg>`` element's markup."""
    if not days:
        return ""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_messages = _scale_top(max(d.messages for d in days))
    top_credits = _scale_top(max(d.cost for d in days) / 1000)
    slot = plot_w / len(days)
    bar = max(slot * 0.7, 1.0)
    base = TOP + plot_h

    def y_of(value: float, top: float) -> float:
        return base - plot_h * value / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="usage-chart" class="chart"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img"'
        f' aria-labelledby="usage-chart-title">',
        f'<title id="usage-chart-title">Messages and credits per day, {escape(str(days[0].day))}'
        f" to {escape(str(days[-1].day))} (UTC)</title>",
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}"'
        ' stroke="#888"/>',
        f'<text class="scale messages" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end"'
        f' font-size="11">{_number(top_messages)}</text>',
        f'<text class="scale messages" x="{LEFT - 4}" y="{base}" text-anchor="end"'
        ' font-size="11">0</text>',
        f'<text class="scale credits" x="{LEFT + plot_w + 4}" y="{TOP + 4}" font-size="11"'
        f' fill="#b35900">{_number(top_credits)} cr</text>',
    ]
    points = []
    for i, d in enumerate(days):
        x = LEFT + slot * i + (slot - bar) / 2
        y = y_of(d.messages, top_messages)
        credits = milli_to_credits(d.cost)
        label = f"{d.day}: {d.messages} messages, {credits} credits"
        parts.append(
            f'<rect class="bar" data-day="{d.day}" data-messages="{d.messages}"'
            f' x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{base - y:.1f}"'
            f' fill="#3b6ea5"><title>{escape(label)}</title></rect>'
        )
        points.append((LEFT + slot * i + slot / 2, y_of(d.cost / 1000, top_credits), d, credits))
    parts.append(
        '<polyline class="credits" fill="none" stroke="#b35900" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        + '"/>'
    )
    for x, y, d, credits in points:
        parts.append(
            f'<circle class="dot" data-day="{d.day}" data-credits="{credits}" cx="{x:.1f}"'
            f' cy="{y:.1f}" r="2.5" fill="#b35900"><title>{escape(f"{d.day}: {credits} credits")}'
            "</title></circle>"
        )
    for i in (0, len(days) - 1):
        anchor = "start" if i == 0 else "end"
        x = LEFT if i == 0 else LEFT + plot_w
        parts.append(
            f'<text class="day" x="{x}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11">'
            f"{escape(str(days[i].day))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
