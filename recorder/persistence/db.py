"""Opening databases the way recorder needs them, and telling passing errors from real ones.

SQLite is opened in WAL mode with ``synchronous=NORMAL`` by default: a commit
survives the process crashing or being SIGKILLed (the WAL is in the OS page
cache), but the last commits before a power loss or OS crash may be lost.
Pass ``sqlite_synchronous="FULL"`` to fsync on every commit and survive that too,
at the cost of one fsync per transaction. Foreign keys are enforced and a
locked database is waited for (``busy_timeout``) before it counts as an error.
Write transactions start with ``BEGIN IMMEDIATE`` so two writers never deadlock
upgrading read locks; reads use a plain ``BEGIN``.

PostgreSQL is spoken through psycopg 3 with a connection pool that pings a
connection before handing it out, so a restarted server costs one reconnect,
not an error.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, StaticPool

from recorder.exceptions import DatabaseUnavailable, InvalidArgument, StorageError
from recorder.persistence import encoding, urls

SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")

# Execution option that makes SQLite start the transaction with BEGIN IMMEDIATE.
WRITE_OPTION = "recorder_write"

# PostgreSQL SQLSTATEs worth retrying: connection exceptions (class 08), server
# shutting down or restarting (57P01-57P03), serialization failures, deadlocks,
# too many connections.
_PG_TRANSIENT_CODES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "53300"})
_SQLITE_TRANSIENT_TEXT = ("database is locked", "database table is locked", "database is busy")


def create_db_engine(
    url: str | URL,
    *,
    sqlite_synchronous: str = "NORMAL",
    busy_timeout: float = 5.0,
    pool_size: int = 5,
    for_migrations: bool = False,
    echo: bool = False,
    in_memory: bool = False,
) -> Engine:
    """An Engine for ``url`` (psycopg 3 for PostgreSQL) set up as described above.

    ``in_memory`` allows an in-memory SQLite URL (``sqlite://``, for TaskFlow's
    ``backends.fetch``; tests and scratch use): its one connection holds the
    database, which lives as long as the engine, and is shared by writes and
    reads, so use it from one thread at a time; migrate it with
    ``get_connection().upgrade()``.
    """
    parsed = urls.parse(url)
    backend = parsed.get_backend_name()
    common: dict[str, Any] = {
        "echo": echo,
        "json_serializer": encoding.dumps,
        "json_deserializer": _read_json,
    }
    if for_migrations:
        common["poolclass"] = NullPool
    if backend == "sqlite":
        connect_args: dict[str, Any] = {"timeout": busy_timeout}
        if is_memory_sqlite(parsed):
            if not in_memory:
                raise InvalidArgument(
                    "in-memory SQLite cannot hold a migrated schema: use a file "
                    "(sqlite:///path.db) or recorder's MemoryBackend"
                )
            # One database per connection: every checkout shares the one connection
            # (the writer's and reads'), so use it from one thread at a time.
            connect_args["check_same_thread"] = False
            common["poolclass"] = StaticPool
        level = sqlite_synchronous.upper()
        if level not in SYNCHRONOUS_LEVELS:
            raise InvalidArgument(
                "sqlite_synchronous must be one of %s, not %r" % (SYNCHRONOUS_LEVELS, level)
            )
        engine = _create_engine(parsed, connect_args=connect_args, **common)
        _setup_sqlite(engine, level, busy_timeout, foreign_keys=not for_migrations)
        return engine
    if backend == "postgresql":
        if not for_migrations:
            common.update(pool_size=pool_size, max_overflow=pool_size)
        return _create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"application_name": "recorder", "connect_timeout": 10},
            **common,
        )
    raise InvalidArgument(
        "recorder supports SQLite and PostgreSQL, not %r (%s)" % (backend, urls.redact(parsed))
    )


def _read_json(text: str) -> Any:
    """Stored JSON text back to Python; text that is not JSON is a StorageError."""
    try:
        return json.loads(text)
    except ValueError as exc:  # SQLite keeps any text a hand put in a JSON column
        raise StorageError("cannot read stored JSON %.40r: %s" % (text, exc)) from exc


def _create_engine(url: URL, **kwargs: Any) -> Engine:
    """``create_engine``, with a driver that is not installed or a URL option it cannot
    read (``?timeout=soon``) refused in one line instead of a traceback."""
    try:
        return create_engine(url, **kwargs)
    except ImportError as exc:
        raise InvalidArgument(
            "cannot open database at %s: %s" % (urls.redact(url), missing_driver(url, exc))
        ) from exc
    except (ArgumentError, ValueError, TypeError) as exc:
        raise InvalidArgument(
            "cannot open database at %s: %s" % (urls.redact(url), describe(exc))
        ) from exc


POSTGRES_EXTRA = "pip install 'flow-recorder[postgres]'"


def missing_driver(url: URL, exc: ImportError) -> str:
    """What to do when the URL's driver does not import: one line naming the install."""
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        return (
            "recorder speaks PostgreSQL through psycopg 3, not %s: write postgresql://... "
            "(or postgresql+psycopg://...), with %s" % (url.get_driver_name(), POSTGRES_EXTRA)
        )
    if url.get_backend_name() == "postgresql":
        return "psycopg (3) is not installed (%s): %s" % (describe(exc), POSTGRES_EXTRA)
    return describe(exc)


def _setup_sqlite(
    engine: Engine, synchronous: str, busy_timeout: float, foreign_keys: bool
) -> None:
    """Per-connection pragmas, and BEGIN issued by us (pysqlite's own is too late)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = %d" % int(busy_timeout * 1000))
            cursor.execute("PRAGMA synchronous = %s" % synchronous)
            cursor.execute("PRAGMA foreign_keys = %s" % ("ON" if foreign_keys else "OFF"))
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        driver: Any = conn.connection.driver_connection
        if driver.in_transaction:  # begun on the driver by the write path (begin_on_driver)
            return
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        driver.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_on_driver(conn: Connection, sqlite: bool) -> Any:
    """Begin a write transaction on ``conn``'s driver connection, outside SQLAlchemy's
    transaction machinery (the write path's, see :mod:`~recorder.persistence.applier`),
    and return that driver connection. SQLAlchemy's ``begin`` listeners still hear it;
    on SQLite recorder's own (which sends ``BEGIN IMMEDIATE`` for SQLAlchemy's
    transactions) is passed over unless others listen too, as it would skip anyway."""
    driver: Any = conn.connection.driver_connection
    listeners = conn.dispatch.begin
    if sqlite:
        driver.execute("BEGIN IMMEDIATE")
        if len(listeners) > 1:
            listeners(conn)
    elif listeners:
        listeners(conn)  # (psycopg begins by itself on the first statement)
    return driver


def is_memory_sqlite(url: str | URL) -> bool:
    """True for a SQLite URL naming an in-memory database."""
    parsed = urls.parse(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    return not parsed.database or parsed.database == ":memory:" or "mode=memory" in str(parsed)


def sqlite_file_missing(url: str | URL) -> bool:
    """True for a SQLite URL whose file does not exist (opening it would create it)."""
    parsed = urls.parse(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if parsed.query.get("uri") or database.startswith("file:") or database in ("", ":memory:"):
        return False
    return not Path(database).exists()


def enable_wal(engine: Engine) -> None:
    """Switch a SQLite file to WAL (persistent in the file; a no-op once done).

    A file freshly made by ``recorder db upgrade`` is switched on first use;
    that needs to write it, so a read-only or write-locked file is refused with
    DatabaseUnavailable saying which (the driver's error is its ``__cause__``).
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        raw = engine.raw_connection()  # outside any transaction: the mode cannot change inside
        try:
            cursor = raw.cursor()
            try:
                cursor.execute("PRAGMA journal_mode")
                row = cursor.fetchone()
                if row is None or str(row[0]).lower() != "wal":
                    cursor.execute("PRAGMA journal_mode = WAL")
            finally:
                cursor.close()
        finally:
            raw.close()
    except (DBAPIError, sqlite3.Error) as exc:
        raise _wal_refused(engine.url, exc) from exc


def _wal_refused(url: URL, exc: BaseException) -> DatabaseUnavailable:
    text = describe(exc)
    if "readonly" in text or "read-only" in text:
        why = "is read-only"
    elif any(marker in text.lower() for marker in _SQLITE_TRANSIENT_TEXT):
        why = "is locked by another process"
    else:
        why = "cannot be written"
    return DatabaseUnavailable(
        "database at %s %s, so recorder cannot switch it to WAL mode (needed once, on "
        "first use after `recorder db upgrade`): %s" % (urls.redact(url), why, text)
    )


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry may cure: lost connections, locks, restarts, deadlocks."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith("08") or sqlstate in _PG_TRANSIENT_CODES
    text = str(orig).lower()
    if any(marker in text for marker in _SQLITE_TRANSIENT_TEXT):
        return True
    # psycopg raises OperationalError without a SQLSTATE when the socket dies
    # (wrapped by SQLAlchemy, or bare from the driver cursor the write path uses).
    bare = type(orig).__name__ == "OperationalError"
    return (isinstance(exc, OperationalError) or bare) and type(orig).__module__.startswith(
        "psycopg"
    )


def describe(exc: BaseException) -> str:
    """One line about ``exc`` (the driver's message, without SQL or parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    first = text[0] if text else ""
    return "%s: %s" % (type(orig).__name__, first) if first else type(orig).__name__


def unavailable(url: str | URL, exc: BaseException) -> DatabaseUnavailable:
    """The one-line error for a database that cannot be reached."""
    return DatabaseUnavailable(
        "cannot connect to database at %s: %s" % (urls.redact(url), describe(exc)),
        url=urls.redact(url),
    )
