"""The per-name page's duration-over-time plot, drawn here as an SVG (no script needed).

One dot per finished run at (creation time, duration), coloured by how the
run ended; the y axis is linear from 0 to the slowest run, with the p50 drawn
as a dashed line. Text is escaped; nothing in the SVG refers to anything outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from recorder.query.history import RunPoint
from recorder.query.stats import percentile
from recorder.render.text import fmt_duration, fmt_time

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 12, 28


def duration_plot(runs: Sequence[RunPoint]) -> str:
    """The plot's SVG markup (an empty-state paragraph when no run has finished)."""
    points = [(r, r.duration) for r in runs if r.duration is not None]
    if not points:
        return '<p class="note">No finished run to plot yet.</p>'
    slowest = max(d for _, d in points) or 1e-6
    first, last = points[0][0].created_at, points[-1][0].created_at
    span = (last - first).total_seconds() or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(run: RunPoint) -> float:
        if len(points) == 1:
            return LEFT + inner_w / 2
        return LEFT + inner_w * (run.created_at - first).total_seconds() / span

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / slowest)

    parts = [
        '<svg class="plot" viewBox="0 0 %d %d" role="img" aria-label="run durations over time">'
        % (WIDTH, HEIGHT)
    ]
    for frac in (0.0, 0.5, 1.0):
        value = slowest * frac
        parts.append(
            '<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>'
            % (LEFT, WIDTH - RIGHT, y(value), y(value))
        )
        parts.append(
            '<text class="ylabel" x="%d" y="%.1f">%s</text>'
            % (LEFT - 6, y(value) + 4, escape(fmt_duration(value)))
        )
    median = percentile(sorted(d for _, d in points), 0.5)
    if median is not None:
        parts.append(
            '<line class="median" x1="%d" x2="%d" y1="%.1f" y2="%.1f"><title>p50 %s</title></line>'
            % (LEFT, WIDTH - RIGHT, y(median), y(median), escape(fmt_duration(median)))
        )
    for run, took in points:
        parts.append(
            '<a href="/flows/%s"><circle class="dot s-%s" cx="%.1f" cy="%.1f" r="4">'
            "<title>%s %s %s</title></circle></a>"
            % (
                escape(run.uuid),
                escape(run.state or "-"),
                x(run),
                y(took),
                escape(fmt_time(run.created_at)),
                escape(run.state or "-"),
                escape(fmt_duration(took)),
            )
        )
    parts.append(
        '<text class="xlabel" x="%d" y="%d">%s</text>' % (LEFT, HEIGHT - 8, fmt_time(first))
    )
    parts.append(
        '<text class="xlabel end" x="%d" y="%d">%s</text>'
        % (WIDTH - RIGHT, HEIGHT - 8, fmt_time(last))
    )
    parts.append("</svg>")
    return "".join(parts)
