"""``recorder worker``: claim jobs from the database's board and run their flows.

Run one or more on each machine against the same database. A worker renews
its claim while it runs a job; SIGTERM (or Ctrl-C) suspends the running flow
at its next state change and abandons the job, so another worker takes it at
once; a SIGKILLed worker's job is taken over once its lease expires.
"""

from __future__ import annotations

import signal
from typing import Any

import click

from recorder.cli.common import say
from recorder.cli.options import database_url, db_option, engine_option


@click.command()
@click.option("--name", default="worker", show_default=True, help="Worker name (made unique).")
@click.option("--lease", type=float, default=30.0, show_default=True, help="Claim lease, seconds.")
@engine_option
@click.option("--max-jobs", type=int, default=None, help="Exit after running K jobs.")
@click.option(
    "--idle-exit", type=float, default=None, help="Exit after SECONDS without a claimable job."
)
@click.option(
    "--poll", type=float, default=1.0, show_default=True, help="Re-read the board every SECONDS."
)
@click.option(
    "--max-claims",
    type=int,
    default=5,
    show_default=True,
    help="Trash a job claimed more than N times (it keeps killing its workers).",
)
@db_option
@click.pass_context
def worker(
    ctx: click.Context,
    name: str,
    lease: float,
    engine_kind: str,
    max_jobs: int | None,
    idle_exit: float | None,
    poll: float,
    max_claims: int,
) -> None:
    """Claim and run jobs until stopped (SIGTERM abandons the running job cleanly).

    \b
    Examples:
      recorder worker
      recorder --db postgresql://db.internal/recorder worker --name billing --lease 20
      recorder worker --max-jobs 10 --idle-exit 5
    """
    from recorder.conductors import backends as conductors
    from recorder.jobs import backends

    url = database_url(ctx)
    board = backends.fetch("workers", {"url": url, "lease": lease, "poll_interval": poll})
    conductor = conductors.fetch(
        "blocking",
        name,
        board,
        persistence=url,
        engine=engine_kind,
        max_claims=max_claims,
        idle_exit=idle_exit,
        wait_timeout=min(poll, 0.5),
    )
    conductor.connect()

    def _stop(_signum: int, _frame: Any) -> None:
        conductor.stop()

    previous = signal.signal(signal.SIGTERM, _stop)
    say("worker %s on %s" % (conductor.owner, board))
    try:
        conductor.run(max_dispatches=max_jobs)
    except KeyboardInterrupt:
        conductor.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        conductor.close()
    done = ", ".join("%s %d" % item for item in sorted(conductor.outcomes.items())) or "no jobs"
    say("worker %s stopped: %s" % (conductor.owner, done))
