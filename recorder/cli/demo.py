"""``recorder demo``: record a realistic flow, then show its timeline and write its Gantt page.

The sample (:mod:`recorder.demo`) runs on the parallel engine with the
standard recording set attached (``recorder.record``): a parallel
section, a carrier API that times out twice before its retry gets a quote, and
a courier booking that fails, so everything done before it is reverted. The
failure is the point of the demo, so it is reported, not raised.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from recorder.cli.common import command_name, reading, say, write_file
from recorder.cli.options import database_url, db_option
from recorder.persistence import urls

HTML_NAME = "recorder-demo.html"


def html_path_for(url: str) -> Path:
    """Where the page goes: next to a SQLite file, else in the current directory."""
    from sqlalchemy.engine import make_url

    parsed = make_url(urls.normalize(url))
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and not database.startswith("file:"):
        return Path(database).resolve().parent / HTML_NAME
    return Path.cwd() / HTML_NAME


def _ensure_schema(url: str) -> None:
    """Create the schema in a new database (an old one is left to `recorder db upgrade`)."""
    from recorder.persistence import migrate

    if migrate.current(url) is None:
        migrate.upgrade(url)
        click.echo("created the recorder schema in %s" % urls.redact(url))


@click.command()
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the Gantt page (default: next to the SQLite file).",
)
@click.option(
    "--speed",
    default=1.0,
    type=click.FloatRange(min=0.1, max=1000.0),
    show_default=True,
    help="Run the sample's steps this many times faster.",
)
@db_option
@click.pass_context
def demo(ctx: click.Context, html_path: Path | None, speed: float) -> None:
    """Record a sample flow (parallel steps, a retried flaky call, a failure that
    reverts), print its timeline and write its Gantt page.

    \b
    Examples:
      recorder demo
      recorder demo --speed 10 --html /tmp/demo.html
      recorder --db postgresql://localhost/recorder demo
    """
    from recorder.demo import FLOW_NAME, run
    from recorder.query.load import load_report
    from recorder.query.reads import get_flow
    from recorder.render import text

    url = database_url(ctx)
    _ensure_schema(url)
    click.echo("running %r, recorded into %s ..." % (FLOW_NAME, urls.redact(url)))
    flow_uuid, raised = run(url, speed)
    with reading(ctx) as conn:
        report = load_report(conn, get_flow(conn, flow_uuid))
    if raised is not None:
        message = (
            "the flow failed as planned (%s: %s): what it had done was reverted, it ended %s"
            % (
                type(raised).__name__,
                raised,
                report.timeline.state,
            )
        )
        say(textwrap.fill(message, 80, subsequent_indent="  "))
    click.echo("")
    say(text.timeline_text(report))
    from recorder.render.html import gantt_html

    target = html_path or html_path_for(url)
    write_file(target, gantt_html(report))
    click.echo("")
    say("Gantt page: %s" % target)
    db = "" if url == urls.resolve_url(None) else " --db %s" % urls.redact(url)
    click.echo("next:")
    for command in (
        "show %s" % FLOW_NAME,
        "timeline %s --format html" % FLOW_NAME,
        "stats",
        "verify",
    ):
        click.echo("  %s%s %s" % (command_name(), db, command))
