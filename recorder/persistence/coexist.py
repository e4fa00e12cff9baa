"""recorder's schema beside another application's (TaskFlow's) in one database.

Two names collide with TaskFlow's SQL backend: the ``logbooks`` table and
alembic's default version table ``alembic_version``. recorder's are
``recorder_logbooks`` and ``recorder_alembic_version`` (migration
``0006_coexist`` renames them in a database made before it). A database older
than that keeps its revision in ``alembic_version``: :func:`adopt_legacy_version`
moves it to recorder's table, in the upgrade's transaction, and drops
``alembic_version`` once empty so TaskFlow can create its own; a downgrade below
``0006_coexist`` moves it back (:func:`restore_legacy_version`).

Where the two cannot live together (a table recorder needs already belongs to
someone else, a downgrade below 0006 beside TaskFlow's ``logbooks``) the error
is one line saying what is there and what to do.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from recorder.exceptions import SchemaMismatch

VERSION_TABLE = "recorder_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"
LOGBOOKS = "recorder_logbooks"
LEGACY_LOGBOOKS = "logbooks"
COEXIST_REVISION = "0006_coexist"

# Tables and views recorder creates under their own names since 0001: if one is
# there before recorder's schema is, it is someone else's.
OWN_NAMES = ("flow_details", "atom_details", "transitions", "flow_runs", "atom_attempts", LOGBOOKS)

TASKFLOW_TABLES = ("logbooks", "flowdetails", "atomdetails")


def logbooks_table(conn: Connection) -> str:
    """The name recorder's logbook table has in this database right now (migrations)."""
    return LOGBOOKS if inspect(conn).has_table(LOGBOOKS) else LEGACY_LOGBOOKS


def has_taskflow_tables(conn: Connection) -> bool:
    """Whether TaskFlow's SQL backend has its tables in this database."""
    names = set(inspect(conn).get_table_names())
    return all(name in names for name in TASKFLOW_TABLES)


def stored_version(conn: Connection, table: str) -> list[str]:
    """The revisions in ``table`` ([] when it does not exist)."""
    if not inspect(conn).has_table(table):
        return []
    rows = conn.execute(text("SELECT version_num FROM %s" % table))
    return [str(row[0]) for row in rows]


def legacy_revision(conn: Connection, before_coexist: Collection[str]) -> str | None:
    """recorder's revision kept in ``alembic_version`` by a database made before
    0006_coexist, or None (no such table, or another application's revision)."""
    if inspect(conn).has_table(VERSION_TABLE):
        return None
    found = [rev for rev in stored_version(conn, LEGACY_VERSION_TABLE) if rev in before_coexist]
    return found[0] if found else None


def adopt_legacy_version(conn: Connection, before_coexist: Collection[str]) -> str | None:
    """Move recorder's revision from ``alembic_version`` into its own table; return it."""
    revision = legacy_revision(conn, before_coexist)
    if revision is None:
        return None
    _create_version_table(conn, VERSION_TABLE)
    conn.execute(
        text("INSERT INTO %s (version_num) VALUES (:rev)" % VERSION_TABLE), {"rev": revision}
    )
    conn.execute(
        text("DELETE FROM %s WHERE version_num = :rev" % LEGACY_VERSION_TABLE), {"rev": revision}
    )
    if not stored_version(conn, LEGACY_VERSION_TABLE):
        conn.execute(text("DROP TABLE %s" % LEGACY_VERSION_TABLE))
    return revision


def refuse_legacy_downgrade(conn: Connection, shown_url: str) -> None:
    """SchemaMismatch if ``alembic_version`` is another application's: a database
    below 0006_coexist keeps recorder's revision there."""
    other = stored_version(conn, LEGACY_VERSION_TABLE)
    if other:
        raise SchemaMismatch(
            "database at %s has another application's alembic_version (revision %s): "
            "recorder cannot go below %s here" % (shown_url, ", ".join(other), COEXIST_REVISION)
        )


def refuse_legacy_logbooks(conn: Connection) -> None:
    """SchemaMismatch if another application's ``logbooks`` table is in the way of
    renaming recorder's back (a downgrade below 0006_coexist)."""
    if inspect(conn).has_table(LEGACY_LOGBOOKS):
        raise SchemaMismatch(
            "the database has another application's logbooks table (TaskFlow's?): recorder "
            "cannot go below %s beside it (its own is %s)" % (COEXIST_REVISION, LOGBOOKS)
        )


def restore_legacy_version(conn: Connection) -> None:
    """After a downgrade below 0006_coexist: the revision back in ``alembic_version``."""
    revisions = stored_version(conn, VERSION_TABLE)
    if not revisions:
        return
    _create_version_table(conn, LEGACY_VERSION_TABLE)
    for revision in revisions:
        conn.execute(
            text("INSERT INTO %s (version_num) VALUES (:rev)" % LEGACY_VERSION_TABLE),
            {"rev": revision},
        )
    conn.execute(text("DROP TABLE %s" % VERSION_TABLE))


def foreign_tables(conn: Connection) -> list[str]:
    """recorder's own table and view names already taken, in a database without its schema."""
    inspector = inspect(conn)
    taken = set(inspector.get_table_names()) | set(inspector.get_view_names())
    return [name for name in OWN_NAMES if name in taken]


def _create_version_table(conn: Connection, table: str) -> None:
    # The shape alembic gives its version table.
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS %s (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT %s_pkc PRIMARY KEY (version_num))" % (table, table)
        )
    )
