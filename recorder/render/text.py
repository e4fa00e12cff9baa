"""Plain-text tables for a terminal: every line fits its width (80 columns at least).

The width is the terminal's (``$COLUMNS``, else the terminal of standard output,
else 80); the name columns take what is wider than 80. Wrapped text never breaks
a name at its hyphens.

Times are shown relative to the flow's start (``+1.234s``) in the timeline so
columns stay narrow; absolute times (UTC) appear once in the header. Long
names are cut with ``~``; control characters in recorded text are shown as
escapes (:func:`~recorder.render.visible.visible`), never sent to the terminal.
Nothing here reads a database: it renders what the query layer returned.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from recorder.query.critical_path import CriticalPath
from recorder.query.failures import FailureEpisode
from recorder.query.load import FlowReport
from recorder.query.model import REVERTING, RUNNING, SOURCE_META, WAITING, Attempt, Timeline
from recorder.query.records import FlowRecord
from recorder.query.stats import AtomStats
from recorder.render.visible import visible

WIDTH = 80
MAX_WIDTH = 240
_SPACES = {ord(c): " " for c in "\t\n\x0b\x0c\r"}


def fmt_duration(value: float | None) -> str:
    """A short human duration: ``850us``, ``12.3ms``, ``4.56s``, ``3m07s``, ``2h05m``."""
    if value is None:
        return "-"
    if value < 0.001:
        return "%dus" % round(value * 1_000_000)
    if value < 1:
        return "%.1fms" % (value * 1000)
    if value < 60:
        return "%.2fs" % value
    if value < 3600:
        return "%dm%02ds" % divmod(round(value), 60)
    hours, rest = divmod(round(value), 3600)
    return "%dh%02dm" % (hours, rest // 60)


def width() -> int:
    """The text width: the terminal's, at least :data:`WIDTH`, at most :data:`MAX_WIDTH`."""
    return max(WIDTH, min(MAX_WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns))


def _extra() -> int:
    return width() - WIDTH


def fmt_time(value: datetime | None, with_ms: bool = False) -> str:
    if value is None:
        return "-"
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return text + ".%03d" % (value.microsecond // 1000) if with_ms else text


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters (ending in ``~`` when cut)."""
    return text if len(text) <= width else text[: width - 1] + "~"


def _row(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    parts = [
        (visible(cell).rjust(w) if r else fit(visible(cell), w).ljust(w))
        for cell, w, r in zip(cells, widths, right, strict=True)
    ]
    return " ".join(parts).rstrip()


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    widths: Sequence[int],
    right: Sequence[bool],
) -> list[str]:
    lines = [_row(header, widths, right), _row(["-" * w for w in widths], widths, right)]
    lines.extend(_row(r, widths, right) for r in rows)
    return lines


def _wrap(text: str, indent: str = "  ") -> list[str]:
    text = visible(text.translate(_SPACES))  # as textwrap would; then escape what is left
    lines = textwrap.wrap(
        text,
        width(),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    )
    return lines or [indent]


# -- flows -----------------------------------------------------------------------


def flows_table(flows: Sequence[FlowRecord], took: Mapping[str, float | None]) -> str:
    """``recorder flows``: uuid prefix, name, state, creation time, ``took`` (by uuid; see
    :func:`recorder.query.history.flow_durations` for its one definition)."""
    rows = []
    for f in flows:
        rows.append(
            [
                f.uuid[:8],
                f.name,
                f.state or "-",
                fmt_time(f.created_at),
                fmt_duration(took.get(f.uuid)),
            ]
        )
    header = ["UUID", "NAME", "STATE", "CREATED (UTC)", "TOOK"]
    widths = [8, 27 + _extra(), 14, 19, 7]
    return "\n".join(table(header, rows, widths, [False, False, False, False, True]))


# -- stats -----------------------------------------------------------------------


def stats_table(stats: Sequence[AtomStats]) -> str:
    """``recorder stats``: one line per atom name."""
    rows = [
        [
            s.name,
            str(s.runs),
            str(s.retries),
            "%.1f" % (100 * s.failure_rate),
            fmt_duration(s.p50),
            fmt_duration(s.p95),
            fmt_duration(s.max),
        ]
        for s in stats
    ]
    header = ["ATOM", "RUNS", "RETRIES", "TRY FAIL%", "P50", "P95", "MAX"]
    widths = [22 + _extra(), 5, 7, 9, 9, 9, 9]
    lines = table(header, rows, widths, [False] + [True] * 6)
    lines += _wrap(STATS_NOTE, "")
    return "\n".join(lines)


STATS_NOTE = (
    "RUNS counts flow runs that reached the atom, RETRIES its attempts beyond the first "
    "in each; TRY FAIL% is per attempt: failed attempts out of finished ones; "
    "P50/P95/MAX: the running time of finished attempts."
)


# -- timeline --------------------------------------------------------------------


def _phase(attempt: Attempt, name: str, as_of: datetime | None) -> str:
    phase = attempt.phase(name)
    if phase is None:
        return "-"
    if phase.open and as_of is not None:
        return fmt_duration(phase.duration_until(as_of)) + "+"
    if name == RUNNING and attempt.outcome == "INTERRUPTED":
        return "unknown"  # the process died: when it stopped running was not recorded
    return fmt_duration(phase.duration)


def _outcome(attempt: Attempt) -> str:
    text = attempt.outcome or "RUNNING"
    if attempt.revert_outcome == "REVERT_FAILURE":
        return text + ",REV_FAIL"
    if attempt.revert_outcome == "REVERTED":
        return text + ",REVERTED"
    if attempt.phase(REVERTING) is not None and attempt.revert_outcome is None:
        return text + ",REVERTING"
    return text


def header_lines(report: FlowReport) -> list[str]:
    t = report.timeline
    lines = ["flow %s  %s" % (fit(visible(t.flow_name), 30), t.flow_uuid)]
    state = t.state or report.flow.state or "-"
    if t.started_at is None:
        took = "not started"
    elif t.ended_at is not None:
        took = "took " + fmt_duration(t.duration)
    else:
        so_far = t.as_of and t.started_at and (t.as_of - t.started_at).total_seconds()
        took = "still running (%s so far)" % fmt_duration(so_far or None)
    lines.append(
        "state %s  runs %d  started %s  %s"
        % (
            state,
            len(t.runs),
            fmt_time(t.started_at, with_ms=True) + " UTC" if t.started_at else "-",
            took,
        )
    )
    if len(t.runs) > 1 or any(run.worker for run in t.runs):
        for run in t.runs:
            lines.append(
                "  run %d: %s  %s  %s%s"
                % (
                    run.number,
                    fmt_time(run.started_at, with_ms=True),
                    fmt_duration(run.duration),
                    run.end_state or "running",
                    "  by " + run.worker if run.worker else "",
                )
            )
    if t.source == SOURCE_META:
        lines.extend(
            _wrap(
                "source: meta (no transitions trail read: this timeline is rebuilt from "
                "the flow's and atoms' meta, and lacks what is marked unknown below)"
            )
        )
    else:
        lines.append("source: %s" % t.source)
    lines = [visible(line) for line in lines]  # states and times come from the database too
    for note in t.unknown:
        lines.extend(_wrap("unknown: " + note))
    return lines


def timeline_lines(timeline: Timeline, path: CriticalPath | None) -> list[str]:
    """One line per attempt: start offset, waiting/running/reverting time, outcome.

    ``*`` before a name marks an attempt whose running phase is on the critical path.
    """
    origin = timeline.started_at
    rows = []
    for atom in timeline.atoms:
        if not atom.attempts:
            rows.append([" " + atom.name, "-", "-", "-", "-", "-", atom.state or "PENDING"])
        for attempt in atom.attempts:
            on_path = path is not None and path.contains(atom.name, attempt.number, RUNNING)
            start = attempt.started_at
            offset = (
                "+%.3fs" % (start - origin).total_seconds()
                if start is not None and origin is not None
                else "-"
            )
            rows.append(
                [
                    ("*" if on_path else " ") + atom.name,
                    str(attempt.number),
                    offset,
                    _phase(attempt, WAITING, timeline.as_of),
                    _phase(attempt, RUNNING, timeline.as_of),
                    _phase(attempt, REVERTING, timeline.as_of),
                    _outcome(attempt),
                ]
            )
    header = [" ATOM", "TRY", "START", "WAIT", "RUN", "REVERT", "OUTCOME"]
    widths = [21 + _extra(), 3, 9, 8, 8, 8, 17]
    return table(header, rows, widths, [False, True, True, True, True, True, False])


def path_lines(path: CriticalPath | None) -> list[str]:
    if path is None:
        return []
    state = " (run still open)" if path.open else ""
    text = (
        "critical path (* above)%s: %s wall = running %s (%d%%) + reverting %s (%d%%) "
        "+ idle %s (%d%%); %d steps"
        % (
            state,
            fmt_duration(path.wall),
            fmt_duration(path.running),
            round(100 * path.share(path.running)),
            fmt_duration(path.reverting),
            round(100 * path.share(path.reverting)),
            fmt_duration(path.waiting),
            round(100 * path.share(path.waiting)),
            len(path.steps),
        )
    )
    return _wrap(text, "")


def failure_lines(episodes: Sequence[FailureEpisode]) -> list[str]:
    if not episodes:
        return []
    lines = ["failures:"]
    for ep in episodes:
        for f in ep.failures:
            cause = "?"
            if f.failure is not None:  # the class name is enough here; JSON has the full path
                cause = "%s: %s" % (f.failure.type.rsplit(".", 1)[-1], f.failure.message)
            where = " (while reverting)" if f.during == "revert" else ""
            lines.extend(
                _wrap(
                    "%s %s attempt %d%s: %s"
                    % (fmt_time(f.at, with_ms=True)[11:], f.atom, f.attempt, where, cause)
                )
            )
            for caused_by in f.failure.causes if f.failure else ():
                lines.extend(_wrap("caused by " + caused_by, "    "))
        reverted = ", ".join(
            "%s#%d%s"
            % (
                r.atom,
                r.attempt,
                "" if r.end_state == "REVERTED" else "(%s)" % (r.end_state or "unfinished"),
            )
            for r in ep.reverts
        )
        outcome = {
            "RETRIED": "retried by %s" % (ep.retried_by or "a retry"),
            None: "still being handled",
        }.get(ep.outcome, "flow ended %s" % ep.outcome)
        lines.extend(_wrap("-> reverted %s; %s" % (reverted or "nothing", outcome), "    "))
    return lines


def timeline_text(report: FlowReport) -> str:
    """``recorder timeline --format table``."""
    lines = [*header_lines(report), ""]
    lines += timeline_lines(report.timeline, report.critical_path)
    extra = path_lines(report.critical_path) + failure_lines(report.failures)
    if extra:
        lines += ["", *extra]
    return "\n".join(lines)


def show_text(report: FlowReport) -> str:
    """``recorder show``: the flow, one line per atom, failures and the critical path."""
    t = report.timeline
    rows = []
    path = report.critical_path
    for atom in t.atoms:
        last = atom.attempts[-1] if atom.attempts else None
        on_path = path is not None and any(
            path.contains(atom.name, a.number, RUNNING) for a in atom.attempts
        )
        rows.append(
            [
                ("*" if on_path else " ") + atom.name,
                atom.kind,
                atom.state or "PENDING",
                str(len(atom.attempts)),
                _phase(last, RUNNING, t.as_of) if last else "-",
                fmt_duration(
                    sum(a.run_duration or 0.0 for a in atom.attempts) if atom.attempts else None
                ),
            ]
        )
    header = [" ATOM", "KIND", "STATE", "TRIES", "LAST RUN", "TOTAL RUN"]
    widths = [26 + _extra(), 5, 14, 5, 10, 10]
    lines = [*header_lines(report), ""]
    lines += table(header, rows, widths, [False, False, False, True, True, True])
    extra = failure_lines(report.failures) + path_lines(report.critical_path)
    if extra:
        lines += ["", *extra]
    return "\n".join(lines)
