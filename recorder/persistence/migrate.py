"""Alembic glue: find the migration scripts, move a database between revisions, check drift.

One chain of migrations serves SQLite and PostgreSQL. In a source checkout the
scripts are the top-level ``migrations/`` directory; an installed wheel carries
the same files as ``recorder/_migrations``. Every function takes a database URL,
opens its own short-lived engine and turns driver and alembic errors into
:class:`~recorder.exceptions.RecorderError` subclasses with one clear line.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from recorder.exceptions import InstallationError, InvalidArgument, SchemaMismatch
from recorder.persistence import (
    coexist,
    db,
    jobs_schema,  # noqa: F401  (adds the job tables to metadata)
    urls,
)
from recorder.persistence.guards import append_only_problems
from recorder.persistence.schema import metadata

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def script_location() -> Path:
    """Where the migration scripts are: inside the installed package, else the checkout."""
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise InstallationError(
        "recorder's migration scripts are missing (looked for recorder/_migrations and "
        "migrations/ next to the package): reinstall recorder"
    )


def alembic_config(url: str | None = None) -> Config:
    """An alembic Config pointing at recorder's scripts (and at ``url`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    if url is not None:
        # ConfigParser interpolation would choke on '%' in passwords.
        config.set_main_option("sqlalchemy.url", urls.normalize(url).replace("%", "%%"))
    return config


@functools.lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this recorder knows (the single head of the chain)."""
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise InstallationError("recorder's migrations have %d heads, expected one" % len(heads))
    return heads[0]


def known_revisions() -> list[str]:
    """Every revision of the chain, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


@functools.lru_cache(maxsize=1)
def before_coexist() -> frozenset[str]:
    """The revisions older than 0006_coexist: they keep their revision in ``alembic_version``."""
    older = _scripts().walk_revisions(base="base", head=coexist.COEXIST_REVISION)
    return frozenset(s.revision for s in older) - {coexist.COEXIST_REVISION}


def _context(conn: Connection, **opts: Any) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"version_table": coexist.VERSION_TABLE, **opts})


def revision_of(conn: Connection) -> str | None:
    """The revision stored in the database, or None when it has no recorder schema.

    recorder's version table is ``recorder_alembic_version``; a database made
    before 0006_coexist has its revision in ``alembic_version`` (another
    application's revision there is not recorder's, see :mod:`recorder.persistence.coexist`).
    """
    if not inspect(conn).has_table(coexist.VERSION_TABLE):
        return coexist.legacy_revision(conn, before_coexist())
    revisions = _context(conn).get_current_heads()
    if len(revisions) > 1:
        raise SchemaMismatch(
            "database has several schema revisions: %s" % ", ".join(revisions),
            current=", ".join(revisions),
            expected=head_revision(),
        )
    return revisions[0] if revisions else None


def require_head(url: str, current_rev: str | None) -> None:
    """SchemaMismatch (its one line tells what to run) unless ``current_rev`` is the head."""
    message = mismatch_message(url, current_rev)
    if message is not None:
        raise SchemaMismatch(message, current=current_rev, expected=head_revision())


def mismatch_message(url: str, current_rev: str | None) -> str | None:
    """None when ``current_rev`` is the head, else the one line telling what to run."""
    head = head_revision()
    if current_rev == head:
        return None
    shown = urls.redact(url)
    if current_rev is None:
        return "database at %s has no recorder schema: run `recorder db upgrade --db %s`" % (
            shown,
            shown,
        )
    if current_rev in known_revisions():
        return (
            "database at %s has schema revision %s, this recorder needs %s: "
            "run `recorder db upgrade --db %s`" % (shown, current_rev, head, shown)
        )
    return (
        "database at %s has schema revision %s, newer than this recorder (head %s): "
        "upgrade recorder, or run `recorder db downgrade %s --db %s` with the newer one"
        % (shown, current_rev, head, head, shown)
    )


@contextmanager
def _connection(url: str, *, write: bool) -> Iterator[Connection]:
    """A connection for migration work, with driver errors turned into RecorderErrors."""
    engine = db.create_db_engine(url, for_migrations=True)
    try:
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise db.unavailable(url, exc) from exc
        with conn:
            if write:
                with conn.begin():
                    yield conn
            else:
                yield conn
    except CommandError as exc:
        raise _command_error(url, exc) from exc
    except DBAPIError as exc:
        raise SchemaMismatch(
            "migrating database at %s failed: %s" % (urls.redact(url), db.describe(exc))
        ) from exc
    finally:
        engine.dispose()


def _command_error(url: str, exc: CommandError) -> InvalidArgument | SchemaMismatch:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Can't locate revision" in text or "No such revision" in text:
        return InvalidArgument("%s (database at %s)" % (text, urls.redact(url)))
    return SchemaMismatch("%s (database at %s)" % (text, urls.redact(url)))


def _run(url: str, action: str, rev: str) -> tuple[str | None, str | None]:
    config = alembic_config(url)
    with _connection(url, write=True) as conn:
        before = revision_of(conn)
        if before is not None and before not in known_revisions():
            require_head(url, before)  # not a known revision, so never the head: raises
        config.attributes["connection"] = conn
        if action == "upgrade":
            _prepare_upgrade(conn, url, before)
            command.upgrade(config, rev)
        else:
            command.downgrade(config, rev)
        after = revision_of(conn)
        _keep_legacy_place(conn, url, after)
    return before, after


def _keep_legacy_place(conn: Connection, url: str, after: str | None) -> None:
    """A revision before 0006_coexist is kept where recorder kept it then: ``alembic_version``."""
    if after in before_coexist():
        coexist.refuse_legacy_downgrade(conn, urls.redact(url))
        coexist.restore_legacy_version(conn)


def _prepare_upgrade(conn: Connection, url: str, before: str | None) -> None:
    """Take over a pre-0006 version row; refuse tables of recorder's names that are not its."""
    if before is None:
        taken = coexist.foreign_tables(conn)
        if taken:
            raise SchemaMismatch(
                "database at %s has no recorder schema but already has %s of another "
                "application: recorder's tables cannot go beside it; use another database "
                "(or PostgreSQL schema)" % (urls.redact(url), ", ".join(taken))
            )
    else:
        coexist.adopt_legacy_version(conn, before_coexist())


def upgrade(url: str, rev: str = "head") -> tuple[str | None, str | None]:
    """Migrate the database at ``url`` up to ``rev``; returns (revision before, after)."""
    return _run(url, "upgrade", rev)


def upgrade_engine(engine: Engine, rev: str = "head") -> tuple[str | None, str | None]:
    """:func:`upgrade` on an open engine (e.g. an in-memory SQLite database, which has
    no URL another engine could open); returns (revision before, after)."""
    if engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:"):
        return upgrade(engine.url.render_as_string(hide_password=False), rev)
    url = urls.redact(engine.url)
    config = alembic_config()
    try:
        with engine.connect() as conn, conn.begin():
            before = revision_of(conn)
            _prepare_upgrade(conn, url, before)
            config.attributes["connection"] = conn
            command.upgrade(config, rev)
            after = revision_of(conn)
            _keep_legacy_place(conn, url, after)
    except CommandError as exc:
        raise _command_error(url, exc) from exc
    except DBAPIError as exc:
        raise SchemaMismatch(
            "migrating database at %s failed: %s" % (url, db.describe(exc))
        ) from exc
    return before, after


def downgrade(url: str, rev: str) -> tuple[str | None, str | None]:
    """Migrate the database at ``url`` down to ``rev`` (``base`` drops everything).

    A SQLite file that does not exist is refused: opening it would create it.
    """
    if db.sqlite_file_missing(url):
        shown = urls.redact(url)
        raise SchemaMismatch(
            "database at %s does not exist: nothing to downgrade" % shown,
            expected=head_revision(),
        )
    return _run(url, "downgrade", rev)


def current(url: str) -> str | None:
    """The revision stored in the database at ``url`` (None: no recorder schema)."""
    if db.sqlite_file_missing(url):
        return None
    with _connection(url, write=False) as conn:
        return revision_of(conn)


def check(url: str) -> list[str]:
    """Differences between the models and the migrated database (empty: no drift),
    and on PostgreSQL every way the append-only guard of transitions is not in force.

    The database must be at the head revision first; otherwise the answer would
    be about a missing migration, not about drift.
    """
    if db.sqlite_file_missing(url):
        require_head(url, None)  # no schema is never the head: raises
    with _connection(url, write=False) as conn:
        require_head(url, revision_of(conn))
        context = _context(
            conn, compare_type=True, compare_server_default=False, include_name=_ours
        )
        diffs: list[Any] = compare_metadata(context, metadata)
        guard = append_only_problems(conn)
    return [_render_diff(diff) for diff in diffs] + guard


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    """Compare only recorder's own tables: another application's (TaskFlow's) may be there."""
    return type_ != "table" or name in metadata.tables


def _render_diff(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come as lists of tuples
        return "; ".join(_render_diff(item) for item in diff)
    if isinstance(diff, tuple) and diff:
        action, *rest = diff
        return "%s %s" % (action, " ".join(_name_of(item) for item in rest))
    return str(diff)


def _name_of(item: Any) -> str:
    for attr in ("name", "key"):
        value = getattr(item, attr, None)
        if isinstance(value, str):
            table = getattr(item, "table", None)
            table_name = getattr(table, "name", None)
            return "%s.%s" % (table_name, value) if table_name else value
    return repr(item)
