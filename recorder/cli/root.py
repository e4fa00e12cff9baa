"""The ``recorder`` root group and its exit-code policy.

Every command runs inside :class:`RecorderGroup`, which turns what it raises into
an exit code, never a traceback:

- a :class:`~recorder.exceptions.RecorderError` is one line on stderr,
  ``recorder: error: <message>`` (control characters in it shown escaped), exit 1;
- bad usage (an unknown option, a bad value) is click's usage message, exit 1;
- exit 2 is kept for integrity failures (``recorder verify``).

The commands live in one module per family and know nothing of this module: it
adds them with ``add_command``. The database is ``--db URL``, else
``RECORDER_DATABASE_URL``, else ``sqlite:///recorder.db`` (:mod:`recorder.cli.options`).
"""

from __future__ import annotations

from typing import Any

import click

from recorder import __version__
from recorder.cli import compare, db, demo, export, inspect, jobs, resume, serve, verify, worker
from recorder.cli.common import ERROR_EXIT
from recorder.cli.options import db_option
from recorder.exceptions import RecorderError


class RecorderGroup(click.Group):
    """A click group that turns RecorderError into one line and exit code 1.

    Usage errors (a bad option or argument) exit 1 as well: exit code 2 is kept
    for integrity failures (``recorder verify``). The policy covers the nested
    groups (``recorder db ...``) too: they run inside this group's ``invoke``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.show()
            ctx.exit(ERROR_EXIT)
        except RecorderError as exc:
            from recorder.render.visible import visible

            message = visible(" ".join(str(exc).split())) or type(exc).__name__
            click.echo("recorder: error: %s" % message, err=True)
            ctx.exit(ERROR_EXIT)


@click.group(cls=RecorderGroup)
@click.version_option(__version__, "--version", prog_name="recorder")
@db_option
def main() -> None:
    """Run flows and record every state change in SQL.

    \b
    Examples:
      recorder demo
      recorder flows --state REVERTED --since 2h
      recorder --db postgresql://localhost/recorder timeline order-fulfilment
    """


COMMANDS: tuple[click.Command, ...] = (
    db.db_group,
    inspect.flows,
    inspect.show,
    inspect.timeline,
    inspect.stats,
    compare.compare,
    verify.verify,
    resume.resume,
    jobs.jobs_group,
    worker.worker,
    demo.demo,
    export.export_group,
    serve.serve,
)

for _command in COMMANDS:
    main.add_command(_command)
