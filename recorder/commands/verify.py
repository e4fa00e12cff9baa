"""``recorder verify [FLOW]``: check recorded flows; exit 2 when any flow does not verify.

Each flow goes through :func:`recorder.audit.verify_flow` (its hash chain, and its
stored state against the trail), all in one read snapshot.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from recorder.commands.common import INTEGRITY_EXIT, reading

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from recorder.audit import VerifyResult

PROGRESS_AFTER = 200
"""Show a progress bar (on a terminal) when checking more flows than this."""


def _name(conn: Connection, uuid: str) -> str:
    from recorder.query.reads import get_flow

    return get_flow(conn, uuid).name


@click.command()
@click.argument("flow", required=False)
@click.pass_context
def verify(ctx: click.Context, flow: str | None) -> None:
    """Verify the transitions of FLOW, or of every flow.

    Exit 0 when every flow verifies, 2 when one does not (altered, missing,
    inserted or reordered rows; stored states the trail does not hold), 1 for
    bad input.
    """
    from recorder.audit import verify_flow
    from recorder.query.integrity import snapshot
    from recorder.query.reads import find_flow, iter_flow_uuids

    failed: list[str] = []
    checked = rows = untracked = 0
    with reading(ctx) as conn:
        snapshot(conn)
        uuids = [find_flow(conn, flow).uuid] if flow else list(iter_flow_uuids(conn))
        with click.progressbar(
            uuids, label="verifying", file=sys.stderr, hidden=len(uuids) <= PROGRESS_AFTER
        ) as bar:
            for uuid in bar:
                result: VerifyResult = verify_flow(conn, uuid)
                checked += 1
                rows += result.checked
                if not result.ok:
                    failed.append("%s %s: %s" % (uuid, _name(conn, uuid), result.reason))
                    continue
                if not result.has_trail:
                    untracked += 1
    for line in failed:
        click.echo("FAILED %s" % line)
    if failed:
        click.echo(
            "recorder: integrity failure: %d of %d flow(s) do not verify" % (len(failed), checked),
            err=True,
        )
        ctx.exit(INTEGRITY_EXIT)
    note = " (%d without a transitions trail)" % untracked if untracked else ""
    click.echo("ok: %d flow(s), %d transition rows verified%s" % (checked, rows, note))
