"""The HTML pages: flows (filtered, keyset-paged, live), one flow, one flow name's stats.

Rendered with Jinja2 (autoescaped) from what :mod:`recorder.query` returns; the
flow page embeds the Gantt sections of :mod:`recorder.render.html` and the same
script. Pages reference only ``/assets/...`` and each other.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from recorder import states
from recorder.audit import verify_flow
from recorder.exceptions import RecorderError
from recorder.query.history import DEFAULT_RUNS, against_history, flow_durations, name_history
from recorder.query.load import load_report
from recorder.query.reads import find_flow
from recorder.render.html import gantt_sections
from recorder.render.text import fmt_duration, fmt_time
from recorder.web.api import reader_of
from recorder.web.params import FlowFilter
from recorder.web.plot import duration_plot

PAGE_RUNS = 50
"""The flow page compares with this many earlier runs (the API and CLI: ``runs``, 200)."""

FLOW_STATES = (
    states.RUNNING,
    states.SUCCESS,
    states.FAILURE,
    states.REVERTED,
    states.SUSPENDED,
    states.PENDING,
    states.RESUMING,
)

_env = Environment(
    loader=PackageLoader("recorder.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["duration"] = fmt_duration
_env.filters["time"] = fmt_time


def render(template: str, code: int = 200, **context: Any) -> HTMLResponse:
    body = _env.get_template(template).render(**context)
    return HTMLResponse(body, status_code=code, headers={"cache-control": "no-store"})


def error_page(_request: Request, message: str, status: int) -> HTMLResponse:
    return render("error.html", status, message=message, status=status)


def flows_page(request: Request) -> HTMLResponse:
    wanted = FlowFilter.parse(request.query_params)
    with reader_of(request).connection() as conn:
        page = wanted.page(conn)
        took = flow_durations(conn, page.items)
    next_token = page.next.encode() if page.next else None
    return render(
        "flows.html",
        flows=[(f, took.get(f.uuid)) for f in page.items],
        wanted=wanted,
        states=FLOW_STATES,
        next_url="/?" + wanted.query_string(after=next_token) if next_token else None,
        api_url="/api/flows?" + wanted.query_string(),
        live=wanted.after is None,
        poll_ms=int(1000 * float(request.app.state.poll)),
    )


def flow_page(request: Request) -> HTMLResponse:
    with reader_of(request).connection() as conn:
        flow = find_flow(conn, request.path_params["ident"])
        report = load_report(conn, flow)
        try:
            checked = verify_flow(conn, flow.uuid)
            verdict = (checked.ok, checked.reason, checked.checked)
        except RecorderError as exc:
            verdict = (False, str(exc), 0)
        comparison = against_history(conn, report.timeline, flow.created_at, limit=PAGE_RUNS)
    return render(
        "flow.html",
        flow=flow,
        report=report,
        sections=Markup(gantt_sections(report)),  # escaped where built
        verdict=verdict,
        comparison=comparison,
        meta=json.dumps(dict(flow.meta), indent=2, sort_keys=True, default=str),
    )


def name_page(request: Request) -> HTMLResponse:
    name = request.path_params["name"]
    with reader_of(request).connection() as conn:
        history = name_history(conn, name, limit=DEFAULT_RUNS)
    return render(
        "name.html",
        history=history,
        plot=Markup(duration_plot(history.runs)),  # escaped where built
        recent=list(reversed(history.runs))[:20],
    )
