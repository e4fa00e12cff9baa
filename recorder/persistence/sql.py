"""The SQL backend: :func:`connect` to SQLite or PostgreSQL and write ops as rows.

``connect`` refuses a database whose schema is not the one this recorder was
built for (:class:`~recorder.exceptions.SchemaMismatch`, naming the command to
run) or that cannot be reached (:class:`~recorder.exceptions.DatabaseUnavailable`),
and writes nothing in either case. Writes go through
:mod:`recorder.persistence.writer` (durable or batched); loads read committed
rows on a separate pooled connection, after flushing this backend's own queued
writes so a load always sees them.

Every open backend is closed (flushed) at interpreter exit; an error at that
point is printed to stderr, as nothing else is left to raise it to.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import URL, Connection, Engine, RowMapping
from sqlalchemy.exc import DBAPIError

from recorder.exceptions import (
    InvalidArgument,
    NotFound,
    SchemaMismatch,
    StorageError,
    WriteFailed,
)
from recorder.persistence import connection as taskflow_connection
from recorder.persistence import db, encoding, migrate, urls
from recorder.persistence.models import AtomDetail, FlowDetail, LogBook, atom_detail_class
from recorder.persistence.ops import Op
from recorder.persistence.rows import TransitionRow
from recorder.persistence.schema import atom_details, flow_details, logbooks, transitions
from recorder.persistence.statements import Statements
from recorder.persistence.trail_sql import read_trail
from recorder.persistence.writer import (
    Applier,
    BatchedWriter,
    DurableWriter,
    WriterStats,
)

MODES = ("durable", "batched")
_T = TypeVar("_T")

# Strong references: an open backend stays alive (and gets flushed at exit) until closed.
_OPEN: set[SQLBackend] = set()


class SQLBackend:
    """A :class:`~recorder.persistence.base.Backend` on a SQL database."""

    def __init__(
        self,
        engine: Engine,
        *,
        mode: str = "durable",
        owns_engine: bool = False,
        queue_size: int = 10_000,
        flush_interval: float = 0.05,
        batch_size: int = 500,
        retry_for: float = 10.0,
    ) -> None:
        if mode not in MODES:
            raise InvalidArgument("mode must be one of %s, not %r" % (MODES, mode))
        self.mode = mode
        self.engine = engine
        self.url = urls.redact(engine.url)
        self.dialect = engine.dialect.name
        self._owns_engine = owns_engine
        self._statements = Statements(self.dialect)
        self._applier = Applier(engine, self._statements, retry_for)
        self._writer: DurableWriter | BatchedWriter
        if mode == "durable":
            self._writer = DurableWriter(self._applier)
        else:
            self._writer = BatchedWriter(
                self._applier,
                queue_size=queue_size,
                flush_interval=flush_interval,
                batch_size=batch_size,
            )
        self._closed = False
        self._close_lock = threading.Lock()
        _OPEN.add(self)

    def __repr__(self) -> str:
        return "<SQLBackend %s %s>" % (self.mode, self.url)

    # -- writing -------------------------------------------------------------

    def write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` in order: committed on return (durable) or queued (batched).

        Bad ops (naive times, unknown fields, non-string meta keys) raise
        InvalidArgument here and nothing of the call is written. In batched
        mode, a WriteFailed about earlier ops may be raised instead; the ops of
        that call are then not queued.
        """
        if self._closed:
            raise WriteFailed("backend for %s is closed" % self.url)
        prepared = self._statements.prepare(ops)
        if prepared:
            self._writer.submit(prepared)

    def flush(self) -> None:
        """Return once everything written so far is committed; raise a pending error."""
        self._writer.flush()

    def close(self) -> None:
        """Flush, stop the writer, release connections. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _OPEN.discard(self)
        try:
            self._writer.close()
        finally:
            if self._owns_engine:
                self.engine.dispose()

    def __enter__(self) -> SQLBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def set_fence(self, fence: Callable[[Connection], None] | None) -> None:
        """Run ``fence(conn)`` first in each write transaction (None: no fence).

        When it raises, nothing of that write commits and the write fails with
        WriteFailed naming why; a job worker fences its flow's writes with its
        claim this way (``SQLJobBoard.fence``), so a worker whose claim was
        lost cannot commit state for that flow any more.
        """
        self.flush()
        self._applier.fence = fence

    @property
    def stats(self) -> WriterStats:
        """Counters of the write path (ops, commits, statements, retries, failures)."""
        return self._applier.stats

    def pending(self) -> int:
        """Ops written but not committed yet (always 0 in durable mode between writes)."""
        return self._writer.pending() if isinstance(self._writer, BatchedWriter) else 0

    # -- reading -------------------------------------------------------------

    def _rows(self, stmt: Any) -> list[RowMapping]:
        return self._read(lambda conn: list(conn.execute(stmt).mappings()))

    def _read(self, read: Callable[[Connection], _T]) -> _T:
        if not self._closed:
            self.flush()
        try:
            with self.engine.connect() as conn:
                return read(conn)
        except DBAPIError as exc:
            raise StorageError("reading from %s failed: %s" % (self.url, db.describe(exc))) from exc

    def load_flow(self, flow_uuid: str) -> FlowDetail:
        """The stored flow with all its atoms (keyed by name); NotFound if none."""
        rows = self._rows(select(flow_details).where(flow_details.c.uuid == flow_uuid))
        if not rows:
            raise NotFound("no stored flow with uuid %r" % flow_uuid)
        flow = _flow(rows[0])
        for atom in self._atoms_of([flow_uuid]):
            flow.atoms[atom[0]] = atom[1]
        return flow

    def load_logbook(self, logbook_uuid: str) -> LogBook:
        """The stored logbook with its flows and their atoms; NotFound if none."""
        rows = self._rows(select(logbooks).where(logbooks.c.uuid == logbook_uuid))
        if not rows:
            raise NotFound("no stored logbook with uuid %r" % logbook_uuid)
        row = rows[0]
        book = LogBook(
            name=row["name"],
            uuid=row["uuid"],
            meta=encoding.decode_meta(row["meta"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        flow_rows = self._rows(
            select(flow_details)
            .where(flow_details.c.logbook_uuid == logbook_uuid)
            .order_by(flow_details.c.created_at, flow_details.c.uuid)
        )
        flows = {r["uuid"]: _flow(r) for r in flow_rows}
        for flow_uuid, name, atom in self._atoms_of(list(flows), with_flow=True):
            flows[flow_uuid].atoms[name] = atom
        book.flows = flows
        return book

    def _atoms_of(self, flow_uuids: list[str], with_flow: bool = False) -> list[Any]:
        if not flow_uuids:
            return []
        rows = self._rows(
            select(atom_details)
            .where(atom_details.c.flow_uuid.in_(flow_uuids))
            .order_by(atom_details.c.created_at, atom_details.c.name)
        )
        if with_flow:
            return [(r["flow_uuid"], r["name"], _atom(r)) for r in rows]
        return [(r["name"], _atom(r)) for r in rows]

    def load_transitions(self, flow_uuid: str) -> list[TransitionRow]:
        """The flow's transitions in ``seq`` order (details decoded)."""
        return self._read(lambda conn: read_trail(conn, flow_uuid))

    def last_transition(self, flow_uuid: str) -> tuple[int, str] | None:
        """``(seq, hash)`` of the flow's newest transition (after a flush), or None."""
        rows = self._rows(
            select(transitions.c.seq, transitions.c.hash)
            .where(transitions.c.flow_uuid == flow_uuid)
            .order_by(transitions.c.seq.desc())
            .limit(1)
        )
        return (rows[0]["seq"], rows[0]["hash"]) if rows else None

    def load_atom(self, atom_uuid: str) -> AtomDetail:
        """One stored atom detail; NotFound if none."""
        rows = self._rows(select(atom_details).where(atom_details.c.uuid == atom_uuid))
        if not rows:
            raise NotFound("no stored atom with uuid %r" % atom_uuid)
        return _atom(rows[0])

    def logbook_uuids(self) -> list[str]:
        """Every stored logbook's uuid, oldest first."""
        rows = self._rows(select(logbooks.c.uuid).order_by(logbooks.c.created_at, logbooks.c.uuid))
        return [row["uuid"] for row in rows]

    def flows_with_trail(self, flow_uuids: list[str]) -> set[str]:
        """Which of ``flow_uuids`` have transitions rows (their flows cannot be deleted)."""
        found: set[str] = set()
        for start in range(0, len(flow_uuids), 500):
            chunk = flow_uuids[start : start + 500]
            rows = self._rows(
                select(transitions.c.flow_uuid).where(transitions.c.flow_uuid.in_(chunk)).distinct()
            )
            found.update(row["flow_uuid"] for row in rows)
        return found

    # -- TaskFlow's connection API ----------------------------------------------------

    def get_connection(self) -> taskflow_connection.Connection:
        """TaskFlow's connection object (:mod:`recorder.persistence.connection`)."""
        return taskflow_connection.Connection(self)

    def upgrade(self) -> None:
        """Migrate this database to the head revision (creating the schema if needed)."""
        migrate.upgrade_engine(self.engine)

    def validate(self) -> None:
        """SchemaMismatch (one line naming the command to run) unless the schema is the head."""
        _probe(self.engine, check_schema=True)

    def latest_flow_by_name(self, name: str) -> FlowDetail | None:
        """The most recently created flow called ``name``, or None."""
        rows = self._rows(
            select(flow_details.c.uuid)
            .where(flow_details.c.name == name)
            .order_by(flow_details.c.created_at.desc(), flow_details.c.uuid.desc())
            .limit(1)
        )
        return self.load_flow(rows[0]["uuid"]) if rows else None


def _flow(row: RowMapping) -> FlowDetail:
    return FlowDetail(
        name=row["name"],
        uuid=row["uuid"],
        logbook_uuid=row["logbook_uuid"],
        state=row["state"],
        meta=encoding.decode_meta(row["meta"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _atom(row: RowMapping) -> AtomDetail:
    return atom_detail_class(row["kind"])(
        name=row["name"],
        uuid=row["uuid"],
        kind=row["kind"],
        state=row["state"],
        intention=row["intention"],
        version=row["version"],
        results=encoding.decode(row["results"]),
        failure=encoding.decode(row["failure"]),
        revert_results=encoding.decode(row["revert_results"]),
        revert_failure=encoding.decode(row["revert_failure"]),
        meta=encoding.decode_meta(row["meta"]),
        attempt=row["attempt"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def connect(
    url_or_engine: str | URL | Engine,
    mode: str = "durable",
    *,
    check_schema: bool = True,
    queue_size: int = 10_000,
    flush_interval: float = 0.05,
    batch_size: int = 500,
    retry_for: float = 10.0,
    sqlite_synchronous: str = "NORMAL",
    busy_timeout: float = 5.0,
    pool_size: int = 5,
    echo: bool = False,
) -> SQLBackend:
    """Open a SQL backend on a URL (or an Engine you configured yourself).

    ``mode``: ``"durable"`` (write returns after commit) or ``"batched"``
    (background commits; ``queue_size`` ops at most in flight, commits every
    ``flush_interval`` seconds or ``batch_size`` ops). ``retry_for``: seconds
    transient errors are retried before WriteFailed. ``sqlite_synchronous``:
    ``"NORMAL"`` survives a process crash, ``"FULL"`` also a power loss.
    Raises SchemaMismatch or DatabaseUnavailable with one line saying why.
    """
    if mode not in MODES:
        raise InvalidArgument("mode must be one of %s, not %r" % (MODES, mode))
    if isinstance(url_or_engine, Engine):
        engine, owns = url_or_engine, False
    else:
        url = urls.parse(url_or_engine)
        if check_schema and url.get_backend_name() == "sqlite":
            _require_sqlite_file(url)
        engine = db.create_db_engine(
            url,
            sqlite_synchronous=sqlite_synchronous,
            busy_timeout=busy_timeout,
            pool_size=pool_size,
            echo=echo,
        )
        owns = True
    try:
        _probe(engine, check_schema)
        db.enable_wal(engine)
    except BaseException:
        if owns:
            engine.dispose()
        raise
    return SQLBackend(
        engine,
        mode=mode,
        owns_engine=owns,
        queue_size=queue_size,
        flush_interval=flush_interval,
        batch_size=batch_size,
        retry_for=retry_for,
    )


def _require_sqlite_file(url: URL) -> None:
    """A SQLite file that does not exist has no schema; do not create an empty one."""
    if db.sqlite_file_missing(url):
        shown = urls.redact(url)
        raise SchemaMismatch(
            "database at %s does not exist: run `recorder db upgrade --db %s`" % (shown, shown),
            expected=migrate.head_revision(),
        )


def _probe(engine: Engine, check_schema: bool) -> None:
    try:
        with engine.connect() as conn:
            current = migrate.revision_of(conn) if check_schema else None
    except DBAPIError as exc:
        raise db.unavailable(engine.url, exc) from exc
    if check_schema:
        migrate.require_head(engine.url.render_as_string(hide_password=False), current)


@atexit.register
def _close_all_at_exit() -> None:
    for backend in list(_OPEN):
        try:
            backend.close()
        except StorageError as exc:
            print("recorder: at exit, %s: %s" % (backend.url, exc), file=sys.stderr)
