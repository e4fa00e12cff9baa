"""Capture the SQL a recorder backend sends, and replay it on the bare driver.

The capture listens to SQLAlchemy's ``begin``, ``before_cursor_execute``,
``commit`` and ``rollback`` events of one Engine, so it sees every statement
recorder sends (its write path runs driver cursors but still fires
``before_cursor_execute``), with its DBAPI parameters, whether it was an
``executemany``, and where each transaction began (``BEGIN IMMEDIATE`` for
writes on SQLite) and ended. :func:`replay` sends exactly that on a raw
``sqlite3`` or ``psycopg`` connection, with the same transaction boundaries:
the floor the recorder's own code is measured against.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gc_watch import collected_heap
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from recorder.persistence import db


@dataclass
class Txn:
    """One transaction as sent: how it began, its statements, how it ended."""

    immediate: bool
    statements: list[tuple[str, Any, bool]] = field(default_factory=list)
    end: str = "open"


class Capture:
    """Record every transaction an Engine runs until :meth:`stop`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.txns: list[Txn] = []
        self._open: dict[int, Txn] = {}
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "before_cursor_execute", self._execute)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def stop(self) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._execute)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)

    def _begin(self, conn: Connection) -> None:
        txn = Txn(bool(conn.get_execution_options().get(db.WRITE_OPTION)))
        self._open[id(conn)] = txn
        self.txns.append(txn)

    def _execute(
        self, conn: Connection, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        txn = self._open.get(id(conn))
        if txn is None:  # outside a transaction (autocommit reads)
            txn = Txn(False, end="none")
            self.txns.append(txn)
        # Copy: the write path hands the driver dicts it built for this call only,
        # but a copy keeps the capture exact whatever happens to them later.
        copied = [_copy(p) for p in params] if many else _copy(params)
        txn.statements.append((sql, copied, many))

    def _commit(self, conn: Connection) -> None:
        txn = self._open.pop(id(conn), None)
        if txn is not None:
            txn.end = "commit"

    def _rollback(self, conn: Connection) -> None:
        txn = self._open.pop(id(conn), None)
        if txn is not None:
            txn.end = "rollback"

    def summary(self) -> dict[str, int]:
        sent = [t for t in self.txns if t.statements]
        return {
            "transactions": len(sent),
            "commits": sum(1 for t in sent if t.end == "commit"),
            "statements": sum(len(t.statements) for t in sent),
            "rows": sum(len(p) if many else 1 for t in sent for _, p, many in t.statements),
        }


def _copy(params: Any) -> Any:
    if isinstance(params, dict):
        return dict(params)
    return tuple(params) if params else params


def replay(url: str, txns: list[Txn]) -> tuple[float, float]:
    """Send ``txns`` on the bare driver to the (fresh, migrated) database at ``url``;
    return the seconds it took, wall and this process's CPU (connecting is not timed)."""
    with driver_sender(url) as send:
        collected_heap()  # (the migration's garbage is not the replay's: gc_watch.py)
        started, cpu = time.perf_counter(), time.process_time()
        for txn in txns:
            send(txn)
        return time.perf_counter() - started, time.process_time() - cpu


@contextlib.contextmanager
def driver_sender(url: str) -> Iterator[Callable[[Txn], None]]:
    """A bare driver connection to ``url`` (set up as recorder sets up its own), as a
    function that sends one captured transaction on it."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=5.0)
        conn.isolation_level = None  # as recorder: BEGIN is ours
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        try:
            yield lambda txn: _send_sqlite(conn, txn)
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        yield lambda txn: _send_pg(pg, txn)


def _send_sqlite(conn: sqlite3.Connection, txn: Txn) -> None:
    if not txn.statements:
        return
    if txn.end != "none":
        conn.execute("BEGIN IMMEDIATE" if txn.immediate else "BEGIN")
    cursor = conn.cursor()
    for sql, params, many in txn.statements:
        if many:
            cursor.executemany(sql, params)
        elif params:
            cursor.execute(sql, params)
        else:
            cursor.execute(sql)
        if cursor.description is not None:
            cursor.fetchall()
    cursor.close()
    if txn.end == "commit":
        conn.commit()
    elif txn.end in ("rollback", "open"):
        conn.rollback()


def _send_pg(conn: Any, txn: Txn) -> None:
    if not txn.statements:
        return
    cursor = conn.cursor()
    for sql, params, many in txn.statements:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params or None)
        if cursor.description is not None:
            cursor.fetchall()
    cursor.close()
    if txn.end == "commit" or txn.end == "none":
        conn.commit()
    else:
        conn.rollback()
