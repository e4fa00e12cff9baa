"""``recorder export otel``: a stored flow's timeline as an OpenTelemetry trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from recorder.cli.common import say, write_file
from recorder.cli.options import db_option, source_option
from recorder.cli.sources import reading_tables


@click.group(name="export")
def export_group() -> None:
    """Write stored flows in other tools' formats.

    \b
    Examples:
      recorder export otel order-fulfilment -o trace.jsonl
    """


@export_group.command(name="otel")
@click.argument("flow")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write OTLP/JSON lines to this file (e.g. trace.jsonl).",
)
@click.option("--endpoint", metavar="URL", help="Post to this OTLP/HTTP receiver (/v1/traces).")
@source_option
@db_option
@click.pass_context
def otel(
    ctx: click.Context, flow: str, output: Path | None, endpoint: str | None, source: str
) -> None:
    """The flow's timeline as a trace: a span per attempt, its phases as child spans.

    Ids are derived from the flow and attempt, so exporting twice gives the same
    trace. Needs the otel extra (pip install 'flow-recorder[otel]').

    \b
    Examples:
      recorder export otel order-fulfilment -o trace.jsonl
      recorder export otel 3f2a --endpoint http://127.0.0.1:4318
      recorder --db sqlite:///taskflow.db export otel my-flow --source taskflow
    """
    from recorder import __version__
    from recorder.export.otel import TrailFacts, trace_document, trail_facts
    from recorder.export.otlp_proto import to_protobuf
    from recorder.query import taskflow_db, taskflow_report
    from recorder.query.load import load_report
    from recorder.query.reads import find_flow, timeline_rows

    with reading_tables(ctx, source) as (conn, of_taskflow):
        facts = TrailFacts()
        if of_taskflow:
            report = taskflow_report.load_report(conn, taskflow_db.find_flow(conn, flow))
        else:
            found = find_flow(conn, flow)
            report = load_report(conn, found, source=source)
            if report.timeline.source == "transitions":
                facts = trail_facts(timeline_rows(conn, found.uuid))
    document = trace_document(report, facts, __version__)
    body = to_protobuf(document)  # also checks the document against OTLP's schema
    line = json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n"
    if output is not None:
        write_file(output, line)
        say("wrote %s" % output, err=True)
    if endpoint is not None:
        from recorder.export.otlp_http import post_traces

        say("sent %d span(s) to %s" % (_spans(document), post_traces(endpoint, body)), err=True)
    if output is None and endpoint is None:
        click.echo(line, nl=False)


def _spans(document: dict[str, Any]) -> int:
    return sum(len(scope["spans"]) for r in document["resourceSpans"] for scope in r["scopeSpans"])
