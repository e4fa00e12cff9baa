"""``recorder verify [FLOW]``: check recorded flows; exit 2 when any flow does not verify.

Each flow goes through :func:`recorder.audit.verify_flow` (its hash chain, and its
stored state against the trail), all in one read snapshot. ``--heads FILE``
adds heads anchored outside the database; ``--save-heads FILE`` writes them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from recorder.cli.common import INTEGRITY_EXIT, reading
from recorder.cli.options import db_option

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
@click.option(
    "--heads",
    "heads_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Check against the heads saved in FILE (by --save-heads).",
    metavar="FILE",
)
@click.option(
    "--save-heads",
    "save_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write every verified flow's head to FILE (atomically) when all verify.",
    metavar="FILE",
)
@db_option
@click.pass_context
def verify(
    ctx: click.Context, flow: str | None, heads_file: Path | None, save_file: Path | None
) -> None:
    """Verify the transitions of FLOW, or of every flow.

    Exit 0 when every flow verifies, 2 when one does not (altered, missing,
    inserted or reordered rows; stored states the trail does not hold; a head
    in --heads FILE that the trail no longer reaches), 1 for bad input.

    \b
    Examples:
      recorder verify
      recorder verify order-fulfilment
      recorder verify --heads heads.json --save-heads heads.json
    """
    from recorder.audit import verify_flow
    from recorder.audit.heads import load_heads, save_heads
    from recorder.query.reads import find_flow, iter_flow_uuids, snapshot
    from recorder.render.visible import visible

    anchors = load_heads(heads_file) if heads_file is not None else {}
    failed: list[str] = []
    heads: dict[str, tuple[int, str]] = {}
    checked = rows = untracked = matched = 0
    with reading(ctx) as conn:
        snapshot(conn)
        uuids = [find_flow(conn, flow).uuid] if flow else list(iter_flow_uuids(conn))
        with click.progressbar(
            uuids, label="verifying", file=sys.stderr, hidden=len(uuids) <= PROGRESS_AFTER
        ) as bar:
            for uuid in bar:
                result: VerifyResult = verify_flow(conn, uuid, anchors.get(uuid))
                checked += 1
                rows += result.checked
                if not result.ok:
                    failed.append("%s %s: %s" % (uuid, _name(conn, uuid), result.reason))
                    continue
                matched += uuid in anchors
                if result.head is not None:
                    heads[uuid] = result.head
                elif not result.has_trail:
                    untracked += 1
        if not flow:
            present = set(uuids)
            for uuid, (seq, _hash) in anchors.items():
                if uuid not in present:
                    checked += 1
                    failed.append(
                        "%s -: anchored at row %d in the heads file, but the flow is not in "
                        "the database" % (uuid, seq)
                    )
    for line in failed:
        click.echo("FAILED %s" % visible(line))
    if failed:
        click.echo(
            "recorder: integrity failure: %d of %d flow(s) do not verify" % (len(failed), checked),
            err=True,
        )
        if save_file is not None:
            click.echo(
                "recorder: heads not saved to %s: not every flow verifies" % save_file, err=True
            )
        ctx.exit(INTEGRITY_EXIT)
    if save_file is not None:
        save_heads(save_file, heads)
        click.echo("saved %d head(s) to %s" % (len(heads), save_file), err=True)
    note = "; %d flow(s) have no trail" % untracked if untracked else ""
    anchored = "; %d anchored head(s) matched" % matched if heads_file is not None else ""
    click.echo("ok: %d flow(s), %d transition rows verified%s%s" % (checked, rows, note, anchored))
