"""The ``recorder`` command: thin on purpose (parse, call the library, render).

Any :class:`~recorder.exceptions.RecorderError` becomes one line on stderr and
exit code 1, never a traceback (control characters in it shown escaped). The
database is ``--db URL``, else ``RECORDER_DATABASE_URL``, else
``sqlite:///recorder.db``.
"""

from __future__ import annotations

from typing import Any

import click

from recorder.commands import register as register_commands
from recorder.exceptions import RecorderError, SchemaMismatch
from recorder.persistence import urls


class _Group(click.Group):
    """A click group that turns RecorderError into one line and exit code 1.

    Usage errors (a bad option or argument) exit 1 as well: exit code 2 is kept
    for integrity failures (``recorder verify``).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.show()
            ctx.exit(1)
        except RecorderError as exc:
            from recorder.render.visible import visible

            message = visible(" ".join(str(exc).split())) or type(exc).__name__
            click.echo("recorder: error: %s" % message, err=True)
            ctx.exit(1)


_DB_KEY = "recorder.db"


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_DB_KEY] = value


db_option = click.option(
    "--db",
    metavar="URL",
    default=None,
    expose_value=False,
    callback=_remember_db,
    help="Database URL (default: $%s, else %s)." % (urls.ENV_VAR, urls.DEFAULT_URL),
)
"""``--db URL``, accepted before or after the subcommand (``recorder --db X db
upgrade`` and ``recorder db upgrade --db X`` mean the same)."""


def database_url(ctx: click.Context) -> str:
    """The URL chosen by --db / RECORDER_DATABASE_URL / the default."""
    value = ctx.meta.get(_DB_KEY)
    return urls.resolve_url(value if isinstance(value, str) else None)


@click.group(cls=_Group)
@db_option
def main() -> None:
    """Run flows and record every state change in SQL."""


@main.group(name="db", cls=_Group)
@db_option
def db_group() -> None:
    """Create, migrate and check the recorder schema."""


def _describe(rev: str | None) -> str:
    return rev if rev is not None else "none"


@db_group.command()
@db_option
@click.argument("revision", default="head")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from recorder.persistence import migrate

    url = database_url(ctx)
    before, after = migrate.upgrade(url, revision)
    shown = urls.redact(url)
    if before == after:
        click.echo("database at %s is already at revision %s" % (shown, _describe(after)))
    else:
        click.echo(
            "database at %s upgraded from %s to %s" % (shown, _describe(before), _describe(after))
        )


@db_group.command()
@db_option
@click.argument("revision")
@click.pass_context
def downgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database down to REVISION (``base`` removes the schema)."""
    from recorder.persistence import migrate

    url = database_url(ctx)
    before, after = migrate.downgrade(url, revision)
    click.echo(
        "database at %s downgraded from %s to %s"
        % (urls.redact(url), _describe(before), _describe(after))
    )


@db_group.command()
@db_option
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the database's schema revision and the one this recorder needs."""
    from recorder.persistence import migrate

    url = database_url(ctx)
    rev = migrate.current(url)
    head = migrate.head_revision()
    status = "up to date" if rev == head else "run `recorder db upgrade`"
    click.echo("%s (head %s: %s)" % (_describe(rev), head, status))


@db_group.command()
@db_option
@click.pass_context
def check(ctx: click.Context) -> None:
    """Compare the migrated database with the models; exit 1 on any drift.

    On PostgreSQL a missing, disabled or replaced append-only trigger on
    transitions counts as drift.
    """
    from recorder.persistence import migrate

    url = database_url(ctx)
    diffs = migrate.check(url)
    if diffs:
        for diff in diffs:
            click.echo(diff)
        raise SchemaMismatch(
            "%d difference(s) between recorder's models and the database at %s"
            % (len(diffs), urls.redact(url))
        )
    click.echo("no drift: database at %s matches the models" % urls.redact(url))


register_commands(main, [db_option])

if __name__ == "__main__":
    main()
