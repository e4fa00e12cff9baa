"""``recorder compare FLOW_A [FLOW_B]``: what got slower, what newly fails.

With two flows, FLOW_A is held against FLOW_B; with one, against the earlier runs
of its flow name (their p50/p95 per atom, attempts per run, failures). The
definitions are in :mod:`recorder.query.compare`.
"""

from __future__ import annotations

import click

from recorder.cli.common import reading, say
from recorder.cli.options import db_option, json_option


@click.command()
@click.argument("flow_a")
@click.argument("flow_b", required=False)
@click.option(
    "--runs",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Without FLOW_B: how many earlier runs make the usual.",
)
@json_option("recorder.compare/1")
@db_option
@click.pass_context
def compare(ctx: click.Context, flow_a: str, flow_b: str | None, runs: int, as_json: bool) -> None:
    """Per atom: FLOW_A's duration and attempts against FLOW_B's, or the usual.

    \b
    Examples:
      recorder compare order-fulfilment --runs 50
      recorder compare 3f2a 9c1d
      recorder compare order-fulfilment --json
    """
    from recorder.query.compare import compare_runs
    from recorder.query.history import against_history
    from recorder.query.load import load_report
    from recorder.query.reads import find_flow
    from recorder.render.compare_text import compare_table
    from recorder.render.tabular import dumps

    with reading(ctx) as conn:
        this = find_flow(conn, flow_a)
        timeline = load_report(conn, this).timeline
        if flow_b is None:
            result = against_history(conn, timeline, this.created_at, limit=runs)
        else:
            result = compare_runs(timeline, load_report(conn, find_flow(conn, flow_b)).timeline)
    if as_json:
        click.echo(dumps(result.to_json()))
    else:
        say(compare_table(result))
