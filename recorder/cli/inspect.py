"""``recorder flows|show|timeline|stats``: what ran, when, for how long, and why it failed.

FLOW arguments accept a uuid, a unique uuid prefix or a flow name (its latest
run). ``--json`` output shapes are versioned by their ``format`` key and
documented in docs/post-mortem-sql.md.
"""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from recorder.cli.common import command_name, say, when_option, write_output
from recorder.cli.options import (
    db_option,
    format_option,
    given_db,
    json_option,
    name_option,
    output_option,
    since_option,
    source_option,
    until_option,
)
from recorder.cli.sources import reading_tables, tables_option
from recorder.persistence import urls

# The query layer and renderers are imported inside each command, so `recorder
# --help` and `recorder db ...` do not load them.

FORMATS = ("table", "json", "csv", "html")
DEFAULT_LIMIT = 20


@click.command()
@name_option("Flow name; * and ? are wildcards.")
@click.option("--state", "states", multiple=True, metavar="STATE", help="Only flows in STATE.")
@since_option("Created at or after WHEN (2h, 7d, 2024-11-26).")
@until_option("Created before WHEN.")
@click.option("--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--after", metavar="TOKEN", help="Continue after a previous page (its token).")
@json_option("recorder.flows/1")
@tables_option
@db_option
@click.pass_context
def flows(
    ctx: click.Context,
    name: str | None,
    states: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    after: str | None,
    as_json: bool,
    source: str,
) -> None:
    """List recorded flows, newest first (also a TaskFlow database's).

    \b
    Examples:
      recorder flows
      recorder flows --name 'order-*' --state REVERTED --since 7d
      recorder flows --json --limit 100
    """
    from recorder.query import reads, taskflow_db
    from recorder.query.history import flow_durations
    from recorder.query.records import FlowCursor
    from recorder.render import tabular, text

    cursor = FlowCursor.decode(after) if after else None
    start, end = when_option(since, "--since"), when_option(until, "--until")
    with reading_tables(ctx, source) as (conn, of_taskflow):
        list_flows = taskflow_db.list_flows if of_taskflow else reads.list_flows
        page = list_flows(
            conn,
            name=name,
            state=list(states) or None,
            since=start,
            until=end,
            limit=limit,
            after=cursor,
        )
        took = flow_durations(conn, page.items, trail=not of_taskflow)
    if as_json:
        click.echo(tabular.flows_json(page.items, page.next, took))
        return
    if not page.items:
        click.echo("no flows recorded%s" % (" that match" if name or states or since else ""))
        return
    say(text.flows_table(page.items, took))
    if page.next is not None:
        say("more: %s" % _next_page(ctx, name, states, start, end, limit, page.next.encode()))


def _next_page(
    ctx: click.Context,
    name: str | None,
    states: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    limit: int,
    token: str,
) -> str:
    """The command for the next page: the same database and filters, to paste as printed.

    A relative ``--since 2h`` is written as the time it meant, so the next page
    keeps the window of this one. A password in ``--db`` is shown as ``***``.
    """
    words = []
    given = given_db(ctx)
    if given is not None:
        words += ["--db", urls.redact(given)]
    words.append("flows")
    if name:
        words += ["--name", name]
    for state in states:
        words += ["--state", state]
    if since is not None:
        words += ["--since", since.isoformat()]
    if until is not None:
        words += ["--until", until.isoformat()]
    if limit != DEFAULT_LIMIT:
        words += ["--limit", str(limit)]
    words += ["--after", token]
    return " ".join([command_name(), *(shlex.quote(w) for w in words)])


@click.command()
@click.argument("flow")
@source_option
@json_option("recorder.timeline/1")
@db_option
@click.pass_context
def show(ctx: click.Context, flow: str, source: str, as_json: bool) -> None:
    """Summarise one flow: its atoms, failures and what they reverted, its critical path.

    \b
    Examples:
      recorder show order-fulfilment
      recorder show 3f2a --source meta
      recorder show order-fulfilment --json
    """
    from recorder.render import tabular, text

    report = _report(ctx, flow, source)
    if as_json:
        click.echo(tabular.timeline_json(report))
    else:
        say(text.show_text(report))


@click.command()
@click.argument("flow")
@format_option(FORMATS, "table")
@output_option("Write to this file (html: default timeline-<uuid>.html).")
@source_option
@db_option
@click.pass_context
def timeline(ctx: click.Context, flow: str, fmt: str, output: Path | None, source: str) -> None:
    """Every attempt of every atom of one flow, with its phases and durations.

    \b
    Examples:
      recorder timeline order-fulfilment
      recorder timeline order-fulfilment --format html -o order.html
      recorder timeline 3f2a --format csv > phases.csv
    """
    from recorder.render import tabular, text

    report = _report(ctx, flow, source)
    if fmt == "html":
        from recorder.render.html import gantt_html

        path = output or Path("timeline-%s.html" % report.flow.uuid[:8])
        write_output(gantt_html(report), path)
        return
    rendered = {
        "table": text.timeline_text,
        "json": tabular.timeline_json,
        "csv": tabular.timeline_csv,
    }[fmt](report)
    write_output(rendered, output)


def _report(ctx: click.Context, flow: str, source: str) -> Any:
    """The flow's report from recorder's tables, or TaskFlow's (see :mod:`recorder.cli.sources`)."""
    from recorder.query import taskflow_db, taskflow_report
    from recorder.query.load import load_report
    from recorder.query.reads import find_flow

    with reading_tables(ctx, source) as (conn, of_taskflow):
        if of_taskflow:
            return taskflow_report.load_report(conn, taskflow_db.find_flow(conn, flow))
        return load_report(conn, find_flow(conn, flow), source=source)


@click.command()
@name_option("Atom name; * and ? are wildcards.")
@since_option("Attempts started at or after WHEN (2h, 7d, ...).")
@until_option("Attempts started before WHEN.")
@json_option("recorder.stats/1")
@tables_option
@db_option
@click.pass_context
def stats(
    ctx: click.Context,
    name: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
    source: str,
) -> None:
    """Per atom name across runs: runs, retries, failure rate, p50/p95/max duration.

    \b
    Examples:
      recorder stats
      recorder stats --name 'fetch-*' --since 7d
      recorder stats --json
    """
    from recorder.query.stats import atom_names_matching, atom_stats, untracked
    from recorder.render import tabular, text

    start, end = when_option(since, "--since"), when_option(until, "--until")
    rows = []
    with reading_tables(ctx, source) as (conn, of_taskflow):
        if of_taskflow:
            _taskflow_stats(conn, name, start, end, as_json)
            return
        names = atom_names_matching(conn, name)
        # One index range scan per name: a progress bar on a big database.
        with click.progressbar(
            names, label="stats", file=sys.stderr, hidden=len(names) < 2 or not _tty()
        ) as bar:
            for atom in bar:
                rows.extend(atom_stats(conn, name=atom, since=start, until=end, exact=True))
        missing = untracked(conn, name=name, since=start, until=end)
    if as_json:
        click.echo(tabular.stats_json(rows, missing))
        return
    if not rows:
        click.echo("no attempts recorded%s" % (" that match" if name or since or until else ""))
    else:
        say(text.stats_table(rows))
    if missing.flows:
        click.echo(
            "%d flow(s) without a transitions trail are not counted (%d atom(s) that ran)"
            % (missing.flows, missing.atoms)
        )


def _taskflow_stats(conn: Any, name: str | None, start: Any, end: Any, as_json: bool) -> None:
    from recorder.query import taskflow_report
    from recorder.query.stats import Untracked
    from recorder.render import tabular, text

    rows = taskflow_report.atom_stats(conn, name=name, since=start, until=end)
    if as_json:
        click.echo(tabular.stats_json(rows, Untracked()))
        return
    if not rows:
        click.echo("no attempts in TaskFlow's tables%s" % (" that match" if name else ""))
        return
    say(text.stats_table(rows))
    click.echo(taskflow_report.STATS_NOTE)


def _tty() -> bool:
    return sys.stderr.isatty()
