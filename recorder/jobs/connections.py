"""One database connection kept open per kind of board operation (reads, writes).

A board operation is a short transaction; taking a pooled connection for each
costs a checkout, a liveness ping and a reset on return, several times the
statements themselves on the hot path (a lease renewal on every state change).
A kept connection skips all three. It is used by one thread at a time (a lock),
and dropped when an error may have left it broken; the next operation opens a
fresh one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from recorder.persistence import db

_T = TypeVar("_T")


class KeptConnection:
    def __init__(self, engine: Callable[[], Engine], *, write: bool) -> None:
        self._engine = engine
        self._write = write
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` in one transaction on the kept connection (DBAPIError propagates)."""
        with self._lock:
            try:
                if self._conn is None:
                    conn = self._engine().connect()
                    if self._write:
                        conn = conn.execution_options(**{db.WRITE_OPTION: True})
                    self._conn = conn
                with self._conn.begin():
                    return work(self._conn)
            except DBAPIError:
                self._drop()
                raise

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
