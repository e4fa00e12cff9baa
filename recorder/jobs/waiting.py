"""Waking a waiting worker when the board may have changed, cheaply.

PostgreSQL: a dedicated autocommit connection LISTENs on the board's channel;
posts and abandons NOTIFY it at commit, so a waiter wakes at once. If LISTEN is
not possible (a pooler in transaction mode, a lost connection) the waiter falls
back to polling every ``poll_interval`` seconds and tries to listen again later.

SQLite: ``PRAGMA data_version`` on a connection of our own changes whenever
another connection commits to the file; reading it costs no I/O, so it is
checked every few milliseconds and the board is queried only when it changed.

Either way, waking up is only a hint: the caller re-reads the board. Expired
leases make jobs claimable without any commit, so callers also re-read every
``poll_interval`` seconds.
"""

from __future__ import annotations

import abc
import contextlib
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy.engine import URL

from recorder.jobs.sql import NOTIFY_CHANNEL

SQLITE_TICK = 0.005


class Waiter(abc.ABC):
    """Blocks until the board may have changed (or a timeout); safe from one thread
    at a time (a lock serialises waiters)."""

    @abc.abstractmethod
    def wait(self, timeout: float) -> bool:
        """True when woken by a change, False after ``timeout`` seconds."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the waiter's connection."""


class PollingWaiter(Waiter):
    def wait(self, timeout: float) -> bool:
        time.sleep(max(timeout, 0.0))
        return False

    def close(self) -> None:
        return None


class PostgresWaiter(Waiter):
    """LISTEN/NOTIFY, with polling while listening is not possible."""

    RETRY_LISTEN_AFTER = 5.0

    def __init__(self, url: URL) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: Any = None
        self._lock = threading.Lock()
        self._next_try = 0.0

    def _listening(self) -> Any:
        if self._conn is not None or time.monotonic() < self._next_try:
            return self._conn
        try:
            import psycopg

            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            conn.execute("LISTEN %s" % NOTIFY_CHANNEL)
            self._conn = conn
        except Exception:  # polling covers for it until the next try
            self._next_try = time.monotonic() + self.RETRY_LISTEN_AFTER
        return self._conn

    def wait(self, timeout: float) -> bool:
        with self._lock:
            conn = self._listening()
            if conn is None:
                time.sleep(max(timeout, 0.0))
                return False
            try:
                for _ in conn.notifies(timeout=max(timeout, 0.0), stop_after=1):
                    return True
                return False
            except Exception:
                self._drop()
                return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._next_try = time.monotonic() + self.RETRY_LISTEN_AFTER
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


class SQLiteWaiter(Waiter):
    """``PRAGMA data_version`` changes when any other connection commits to the file."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._version: int | None = None

    def _read(self) -> int | None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self._path, check_same_thread=False)
            row = self._conn.execute("PRAGMA data_version").fetchone()
            return int(row[0])
        except sqlite3.Error:
            return None

    def wait(self, timeout: float) -> bool:
        with self._lock:
            deadline = time.monotonic() + max(timeout, 0.0)
            if self._version is None:
                self._version = self._read()
            while True:
                version = self._read()
                if version is not None and version != self._version:
                    self._version = version
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(SQLITE_TICK, left))

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()


def waiter_for(url: URL, *, listen: bool = True) -> Waiter:
    """The cheapest waiter for the board's database."""
    backend = url.get_backend_name()
    if backend == "postgresql" and listen:
        return PostgresWaiter(url)
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return SQLiteWaiter(url.database)
    return PollingWaiter()
