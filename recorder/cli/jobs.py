"""``recorder jobs post/list/show/trash``: the job board from the command line.

Jobs live in the recorder database (``--db``), beside the flows they run; a
``recorder worker`` (:mod:`recorder.cli.worker`) on any machine with access to
that database claims and runs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from recorder.cli.common import say
from recorder.cli.options import database_url, db_option
from recorder.exceptions import InvalidArgument, UnclaimableJob

JOB_STATES = ("UNCLAIMED", "CLAIMED", "COMPLETE", "TRASHED")
PRIORITIES = ("VERY_HIGH", "HIGH", "NORMAL", "LOW", "VERY_LOW")


@contextmanager
def _board(ctx: click.Context) -> Iterator[Any]:
    from recorder.jobs import backends

    with backends.backend("cli", database_url(ctx)) as board:
        yield board


def _summary(job: Any, row: Any) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "uuid": job.uuid,
        "name": job.name,
        "state": row["state"],
        "owner": row["owner"],
        "flow_uuid": job.flow_uuid,
        "claims": row["claims"],
        "priority": job.priority.value,
        "lease_expires_at": when(row["lease_expires_at"]),
        "created_at": when(row["created_at"]),
        "updated_at": when(row["updated_at"]),
    }


@click.group("jobs")
def jobs_group() -> None:
    """Post, list, show and trash jobs on the database's job board.

    \b
    Examples:
      recorder jobs post myapp.flows:make_order --store '{"order_id": 7}'
      recorder jobs list --state CLAIMED
      recorder jobs show 3f2a
    """


@jobs_group.command("post")
@click.argument("factory")
@click.option("--name", default=None, help="Job name (default: the flow's name).")
@click.option("--store", "store_json", default=None, metavar="JSON", help="Store values (object).")
@click.option(
    "--priority",
    type=click.Choice(PRIORITIES, case_sensitive=False),
    default="NORMAL",
    show_default=True,
)
@db_option
@click.pass_context
def post(
    ctx: click.Context, factory: str, name: str | None, store_json: str | None, priority: str
) -> None:
    """Store the flow FACTORY (module:function) returns and post a job for it; print its uuid.

    \b
    Examples:
      recorder jobs post myapp.flows:make_order
      recorder jobs post myapp.flows:make_order --store '{"order_id": 7}' --priority HIGH
    """
    from recorder.conductors.posting import post_flow
    from recorder.persistence import connect

    store: dict[str, Any] = {}
    if store_json is not None:
        try:
            store = json.loads(store_json)
        except ValueError as exc:
            raise InvalidArgument("--store is not JSON: %s" % exc) from exc
        if not isinstance(store, dict):
            raise InvalidArgument("--store must be a JSON object, not %s" % type(store).__name__)
    backend = connect(database_url(ctx))
    try:
        with _board(ctx) as board:
            job = post_flow(board, backend, factory, name=name, store=store, priority=priority)
    finally:
        backend.close()
    click.echo(job.uuid)


@jobs_group.command("list")
@click.option("--state", type=click.Choice(JOB_STATES, case_sensitive=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="JSON: a list of job objects.")
@db_option
@click.pass_context
def list_jobs(ctx: click.Context, state: str | None, as_json: bool) -> None:
    """List jobs, most urgent and oldest first (all states unless --state).

    \b
    Examples:
      recorder jobs list
      recorder jobs list --state UNCLAIMED --json
    """
    with _board(ctx) as board:
        found = [
            _summary(job, row)
            for job in board.jobs(state.upper() if state else None)
            if (row := board.row_of(job.uuid)) is not None
        ]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        say("no jobs")
        return
    say("%-36s  %-9s  %6s  %-24s  %s" % ("uuid", "state", "claims", "name", "owner"))
    for item in found:
        say(
            "%-36s  %-9s  %6d  %-24s  %s"
            % (item["uuid"], item["state"], item["claims"], item["name"][:24], item["owner"] or "")
        )


@jobs_group.command("show")
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="JSON: the job object with its events.")
@db_option
@click.pass_context
def show(ctx: click.Context, job: str, as_json: bool) -> None:
    """Show JOB (uuid or uuid prefix): its state, owner, lease, flow and events.

    \b
    Examples:
      recorder jobs show 3f2a
    """
    with _board(ctx) as board:
        found = board.find(job)
        row = board.row_of(found.uuid)
        item = _summary(found, row)
        item["details"] = found.details
        item["events"] = [
            {"kind": e["kind"], "who": e["who"], "at": e["at"].isoformat(), "claims": e["claims"]}
            for e in board.events(found)
        ]
    if as_json:
        click.echo(json.dumps(item, indent=2))
        return
    for key in ("uuid", "name", "state", "owner", "flow_uuid", "claims", "priority"):
        say("%-17s %s" % (key + ":", item[key] if item[key] is not None else "-"))
    say("%-17s %s" % ("lease expires:", item["lease_expires_at"] or "-"))
    say("events:")
    for event in item["events"]:
        say(
            "  %s  %-9s  claim %d  %s"
            % (event["at"], event["kind"], event["claims"], event["who"] or "")
        )


@jobs_group.command("trash")
@click.argument("job")
@db_option
@click.pass_context
def trash(ctx: click.Context, job: str) -> None:
    """Take JOB off the board without running it again (refused while a live worker holds it).

    \b
    Examples:
      recorder jobs trash 3f2a
    """
    from recorder.conductors.naming import unique_owner

    with _board(ctx) as board:
        found = board.find(job)
        who = unique_owner("cli")
        try:
            board.claim(found, who, expiry=60)
        except UnclaimableJob as exc:
            raise UnclaimableJob("cannot trash: %s" % exc) from exc
        board.trash(found, who)
    say("trashed job %s (%s)" % (found.uuid, found.name))
