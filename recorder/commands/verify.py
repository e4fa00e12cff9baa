"""``recorder verify [FLOW]``: check hash chains; exit 2 when any flow does not verify."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from recorder.commands.common import INTEGRITY_EXIT, reading

if TYPE_CHECKING:
    from recorder.query.integrity import FlowCheck

PROGRESS_AFTER = 200
"""Show a progress bar (on a terminal) when checking more flows than this."""


def _line(check: FlowCheck) -> str:
    from recorder.render.visible import visible

    return visible("%s %s: %s" % (check.flow_uuid, check.flow_name, check.reason))


@click.command()
@click.argument("flow", required=False)
@click.pass_context
def verify(ctx: click.Context, flow: str | None) -> None:
    """Verify the transitions hash chain of FLOW, or of every flow.

    Exit 0 when every chain verifies, 2 when one does not (altered, missing,
    inserted or reordered rows), 1 for a bad FLOW or database.
    """
    from recorder.query.integrity import check_flow
    from recorder.query.reads import find_flow, get_flow, iter_flow_uuids

    failed: list[FlowCheck] = []
    checked = rows = untracked = 0
    with reading(ctx) as conn:
        uuids = [find_flow(conn, flow).uuid] if flow else list(iter_flow_uuids(conn))
        with click.progressbar(
            uuids,
            label="verifying",
            file=sys.stderr,
            hidden=len(uuids) <= PROGRESS_AFTER,
        ) as bar:
            for uuid in bar:
                check = check_flow(conn, get_flow(conn, uuid))
                checked += 1
                rows += check.rows
                if not check.ok:
                    failed.append(check)
                elif check.rows == 0:
                    untracked += 1
    for check in failed:
        click.echo("FAILED %s" % _line(check))
    if failed:
        click.echo(
            "recorder: integrity failure: %d of %d flow(s) do not verify" % (len(failed), checked),
            err=True,
        )
        ctx.exit(INTEGRITY_EXIT)
    note = " (%d without a transitions trail)" % untracked if untracked else ""
    click.echo("ok: %d flow(s), %d transition rows verified%s" % (checked, rows, note))
