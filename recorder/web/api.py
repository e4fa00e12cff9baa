"""``/api/``: the CLI's ``--json`` documents over HTTP, built by the same functions.

============================  =======================================================
``/api/flows?...``            ``recorder flows --json`` (``recorder.flows/1``), same filters
``/api/flows/FLOW``           ``recorder show FLOW --json`` (``recorder.timeline/1``)
``/api/flows/FLOW/compare``   ``recorder compare FLOW [--runs N]``; ``?against=FLOW_B``
``/api/names/NAME``           the per-name stats page's data (``recorder.history/1``)
``/api/stats?name=&since=``   ``recorder stats --json`` (``recorder.stats/1``)
============================  =======================================================

FLOW is what the CLI takes: a uuid, a unique uuid prefix or a flow name (its
latest run). Errors are ``{"error": "..."}`` with 400 (bad input), 404 (no such
flow) or 503 (the database).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from recorder.query.compare import compare_runs
from recorder.query.history import DEFAULT_RUNS, against_history, flow_durations, name_history
from recorder.query.load import load_report
from recorder.query.reads import atom_names_matching, find_flow
from recorder.query.stats import atom_stats, untracked
from recorder.render import tabular
from recorder.web.params import FlowFilter, integer, window
from recorder.web.reader import Reader

JSON_TYPE = "application/json"


def reader_of(request: Request) -> Reader:
    reader: Reader = request.app.state.reader
    return reader


def document(text: str) -> Response:
    return Response(text, media_type=JSON_TYPE, headers={"cache-control": "no-store"})


def error(message: str, status: int) -> Response:
    return Response(json.dumps({"error": message}), status_code=status, media_type=JSON_TYPE)


def flows(request: Request) -> Response:
    wanted = FlowFilter.parse(request.query_params)
    with reader_of(request).connection() as conn:
        page = wanted.page(conn)
        took = flow_durations(conn, page.items)
    return document(tabular.flows_json(page.items, page.next, took))


def flow(request: Request) -> Response:
    with reader_of(request).connection() as conn:
        report = load_report(conn, find_flow(conn, request.path_params["ident"]))
    return document(tabular.timeline_json(report))


def compare(request: Request) -> Response:
    params = request.query_params
    runs = integer(params, "runs", DEFAULT_RUNS, 1, 100_000)
    with reader_of(request).connection() as conn:
        this = find_flow(conn, request.path_params["ident"])
        timeline = load_report(conn, this).timeline
        other = params.get("against")
        if other:
            result = compare_runs(timeline, load_report(conn, find_flow(conn, other)).timeline)
        else:
            result = against_history(conn, timeline, this.created_at, limit=runs)
    return document(tabular.dumps(result.to_json()))


def name(request: Request) -> Response:
    runs = integer(request.query_params, "runs", DEFAULT_RUNS, 1, 100_000)
    with reader_of(request).connection() as conn:
        history = name_history(conn, request.path_params["name"], limit=runs)
    return document(tabular.dumps(history.to_json()))


def stats(request: Request) -> Response:
    pattern = request.query_params.get("name") or None
    since, until = window(request.query_params)
    rows = []
    with reader_of(request).connection() as conn:
        for atom in atom_names_matching(conn, pattern):
            rows.extend(atom_stats(conn, name=atom, since=since, until=until, exact=True))
        missing = untracked(conn, name=pattern, since=since, until=until)
    return document(tabular.stats_json(rows, missing))
