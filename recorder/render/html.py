"""The Gantt page: one self-contained HTML file (no network, no CDN) for a flow.

One row per atom, one bar per attempt coloured by outcome, its waiting
(hatched), running and reverting phases drawn side by side, the critical path
outlined, and a tooltip per bar. The page carries its data as a JSON block
and draws the chart with a small inline script (``assets/gantt.js``) into an
SVG; the facts, failures and notes are plain HTML, readable without script.

Nothing can leave the page: a Content-Security-Policy ``default-src 'none'``
allows only the page's own inline script and style, pinned by their SHA-256
hashes. The only URL in the file is the SVG namespace name, which is an
identifier, never fetched.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import datetime
from importlib import resources
from typing import Any

from recorder.query.critical_path import CriticalPath
from recorder.query.load import FlowReport
from recorder.query.model import AtomTimeline, Attempt, Timeline
from recorder.render.text import fmt_duration, fmt_time

GENERATOR = "recorder gantt/1"


def _asset(name: str) -> str:
    return resources.files("recorder.render").joinpath("assets").joinpath(name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-%s'" % base64.b64encode(digest).decode("ascii")


def _offset(value: datetime | None, origin: datetime) -> float | None:
    return None if value is None else round((value - origin).total_seconds(), 6)


def _tip(atom: AtomTimeline, attempt: Attempt, as_of: datetime | None) -> str:
    lines = [
        "%s  attempt %d  (%s)" % (atom.name, attempt.number, atom.kind),
        "outcome: %s%s"
        % (
            attempt.outcome or "running",
            ", %s" % attempt.revert_outcome if attempt.revert_outcome else "",
        ),
        "started: %s UTC" % fmt_time(attempt.started_at, with_ms=True),
    ]
    for phase in attempt.phases:
        took = phase.duration
        suffix = ""
        if took is None and as_of is not None:
            took, suffix = phase.duration_until(as_of), "+ (open)"
        lines.append(
            "%-9s %s%s -> %s" % (phase.phase, fmt_duration(took), suffix, phase.end_state or "…")
        )
    for label, failure in (("failed", attempt.failure), ("revert failed", attempt.revert_failure)):
        if failure is not None:
            lines.append("%s: %s: %s" % (label, failure.type, failure.message))
    if attempt.result is not None:
        lines.append("result: %s" % attempt.result)
    return "\n".join(lines)


def view_model(timeline: Timeline, path: CriticalPath | None) -> dict[str, Any]:
    """What the script draws: offsets in seconds from the flow's start, precomputed
    here so microseconds survive (JavaScript dates keep only milliseconds)."""
    origin = timeline.started_at
    end = timeline.ended_at or timeline.as_of
    if origin is None:
        return {"flow": timeline.flow_name, "span": 0, "runs": [], "atoms": []}
    span = _offset(end, origin) if end is not None else 0.0
    atoms = []
    for atom in timeline.atoms:
        attempts = []
        for attempt in atom.attempts:
            phases = [
                {
                    "phase": p.phase,
                    "s": _offset(p.started_at, origin),
                    "e": _offset(p.ended_at, origin),
                    "end_state": p.end_state,
                    "critical": bool(path and path.contains(atom.name, attempt.number, p.phase)),
                }
                for p in attempt.phases
            ]
            attempts.append(
                {
                    "n": attempt.number,
                    "outcome": attempt.outcome,
                    "revert_outcome": attempt.revert_outcome,
                    "critical": any(p["critical"] for p in phases),
                    "phases": phases,
                    "tip": _tip(atom, attempt, timeline.as_of),
                }
            )
        atoms.append(
            {"name": atom.name, "kind": atom.kind, "state": atom.state, "attempts": attempts}
        )
    runs = [
        {
            "number": r.number,
            "start": _offset(r.started_at, origin),
            "end": _offset(r.ended_at, origin),
            "end_state": r.end_state,
        }
        for r in timeline.runs
    ]
    return {"flow": timeline.flow_name, "span": span or 0.0, "runs": runs, "atoms": atoms}


def _json_block(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Inside <script> only "</" could end the block; escape every markup character.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _facts(report: FlowReport) -> str:
    t = report.timeline
    state = t.state or report.flow.state or "-"
    if t.started_at is None:
        took = "not started"
    else:
        took = fmt_duration(t.duration) if t.ended_at is not None else "still running"
    items = [
        '<span>state <b class="state state-%s">%s</b></span>'
        % (html.escape(state), html.escape(state)),
        "<span>started <b>%s UTC</b></span>" % fmt_time(t.started_at, with_ms=True),
        "<span>took <b>%s</b></span>" % html.escape(took),
        "<span>runs <b>%d</b></span>" % len(t.runs),
        "<span>atoms <b>%d</b></span>" % len(t.atoms),
        "<span>attempts <b>%d</b></span>" % sum(len(a.attempts) for a in t.atoms),
        "<span>source <b>%s</b></span>" % html.escape(t.source),
    ]
    return '<div class="facts">%s</div>' % "".join(items)


def _path_section(path: CriticalPath | None) -> str:
    if path is None:
        return ""
    parts = [
        ("running", path.running),
        ("reverting", path.reverting),
        ("idle", path.waiting),
    ]
    share = ", ".join(
        "%s %s (%d%%)" % (name, fmt_duration(value), round(100 * path.share(value)))
        for name, value in parts
    )
    chain = " &rarr; ".join(
        "<code>%s#%d %s</code>" % (html.escape(s.atom), s.attempt, s.phase) for s in path.steps
    )
    return (
        '<section id="critical-path"><h2>Critical path (outlined)</h2>'
        '<p>%s wall time%s: %s.</p><p class="note">%s</p></section>'
        % (
            fmt_duration(path.wall),
            " so far" if path.open else "",
            html.escape(share),
            chain,
        )
    )


def _failures_section(report: FlowReport) -> str:
    if not report.failures:
        return ""
    items = []
    for ep in report.failures:
        causes = "; ".join(
            "<code>%s</code> attempt %d%s: %s"
            % (
                html.escape(f.atom),
                f.attempt,
                " (revert)" if f.during == "revert" else "",
                html.escape("%s: %s" % (f.failure.type, f.failure.message) if f.failure else "?")
                + "".join(
                    " (caused by %s)" % html.escape(c)
                    for c in (f.failure.causes if f.failure else ())
                ),
            )
            for f in ep.failures
        )
        reverted = ", ".join("%s#%d" % (r.atom, r.attempt) for r in ep.reverts) or "nothing"
        outcome = (
            "retried by %s" % ep.retried_by
            if ep.outcome == "RETRIED"
            else "flow ended %s" % ep.outcome
            if ep.outcome
            else "still being handled"
        )
        items.append(
            "<li>%s &mdash; reverted %s; %s</li>"
            % (causes, html.escape(reverted), html.escape(outcome))
        )
    return '<section id="failures"><h2>Failures</h2><ul>%s</ul></section>' % "".join(items)


def _notes_section(timeline: Timeline) -> str:
    if not timeline.unknown:
        return ""
    items = "".join("<li>%s</li>" % html.escape(n) for n in timeline.unknown)
    return (
        '<section id="unknown"><h2>Not known from this source (%s)</h2><ul class="note">%s</ul>'
        "</section>" % (html.escape(timeline.source), items)
    )


LEGEND = (
    '<div class="legend">'
    '<span><i class="sw-ok"></i>succeeded</span><span><i class="sw-fail"></i>failed</span>'
    '<span><i class="sw-open"></i>running</span><span><i class="sw-lost"></i>interrupted</span>'
    '<span><i class="sw-revert"></i>reverting</span>'
    '<span><i class="sw-revfail"></i>revert failed</span>'
    '<span><i class="sw-wait"></i>waiting for retry</span>'
    '<span><i class="sw-crit"></i>critical path</span></div>'
)


def gantt_sections(report: FlowReport) -> str:
    """The page's body below the title: facts, legend, chart, critical path, failures,
    notes and the chart's data block (``recorder serve`` puts it in its flow page)."""
    t = report.timeline
    return "\n".join(
        [
            _facts(report),
            LEGEND,
            '<div id="chart"><noscript>The chart needs JavaScript; the facts below do not.'
            "</noscript></div>",
            '<div id="tip" role="tooltip"></div>',
            _path_section(report.critical_path),
            _failures_section(report),
            _notes_section(t),
            '<script type="application/json" id="gantt-data">%s</script>'
            % _json_block(view_model(t, report.critical_path)),
        ]
    )


def gantt_html(report: FlowReport) -> str:
    """The whole page as one string (write it with UTF-8)."""
    t = report.timeline
    style, script = _asset("gantt.css"), _asset("gantt.js")
    csp = (
        "default-src 'none'; script-src %s; style-src %s; img-src data:; "
        "base-uri 'none'; form-action 'none'" % (_csp_hash(script), _csp_hash(style))
    )
    title = "%s %s - recorder timeline" % (t.flow_name, t.flow_uuid[:8])
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="%s">' % csp,
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="%s">' % GENERATOR,
            "<title>%s</title>" % html.escape(title),
            "<style>%s</style>" % style,
            "</head>",
            "<body>",
            "<h1>%s</h1>" % html.escape(t.flow_name),
            '<p class="sub">%s</p>' % html.escape(t.flow_uuid),
            gantt_sections(report),
            "<script>%s</script>" % script,
            "</body>",
            "</html>",
            "",
        ]
    )
