"""``recorder db upgrade|downgrade|current|check``: create, migrate and check the schema.

Each subcommand calls :mod:`recorder.persistence.migrate` (alembic, imported on
first use) on the database ``--db`` names.
"""

from __future__ import annotations

import click

from recorder.cli.options import database_url, db_option
from recorder.exceptions import SchemaMismatch
from recorder.persistence import urls


def _describe(rev: str | None) -> str:
    return rev if rev is not None else "none"


@click.group(name="db")
@db_option
def db_group() -> None:
    """Create, migrate and check the recorder schema.

    \b
    Examples:
      recorder db upgrade
      recorder --db postgresql://localhost/recorder db current
      recorder db check
    """


@db_group.command()
@db_option
@click.argument("revision", default="head")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to REVISION (default: head).

    \b
    Examples:
      recorder db upgrade
      recorder db upgrade --db sqlite:///runs.db
    """
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
    """Migrate the database down to REVISION (``base`` removes the schema).

    \b
    Examples:
      recorder db downgrade 0004
      recorder db downgrade base --db sqlite:///scratch.db
    """
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
    """Show the database's schema revision and the one this recorder needs.

    \b
    Examples:
      recorder db current
      recorder db current --db postgresql://localhost/recorder
    """
    from recorder.persistence import migrate

    url = database_url(ctx)
    rev = migrate.current(url)
    head = migrate.head_revision()
    if rev == head:
        status = "up to date"
    elif rev is None or rev in migrate.known_revisions():
        status = "run `recorder db upgrade`"
    else:  # written by a newer recorder: upgrade would refuse
        status = "newer than this recorder: upgrade recorder"
    click.echo("%s (head %s: %s)" % (_describe(rev), head, status))


@db_group.command()
@db_option
@click.pass_context
def check(ctx: click.Context) -> None:
    """Compare the migrated database with the models; exit 1 on any drift.

    On PostgreSQL a missing, disabled or replaced append-only trigger on
    transitions counts as drift.

    \b
    Examples:
      recorder db check
      recorder db check --db postgresql://localhost/recorder
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
