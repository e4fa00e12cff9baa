"""Committing prepared ops: one transaction per attempt, with the retry rule.

Each commit attempt is one transaction holding whole writes, and every op is
idempotent (inserts ignore rows that exist, updates set absolute values, meta
merges set the same keys again), so a transaction whose fate is unknown can
simply run again. Transient errors -- SQLite "database is locked" after its
busy timeout, a PostgreSQL connection that was lost, terminated or refused, a
serialization failure or deadlock -- are retried on a fresh connection with
exponential backoff (10 ms doubling to at most 1 s) until ``retry_for`` seconds
(default 10) have passed since the first failure. Then, or at once for any
other error, the ops fail with :class:`~recorder.exceptions.WriteFailed`, which
names what was not stored.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from recorder.exceptions import WriteFailed
from recorder.persistence import db
from recorder.persistence.execution import Executor
from recorder.persistence.statements import Prepared, PreparedOp, Statements


@dataclass
class WriterStats:
    """Counters for benchmarks and health checks."""

    ops: int = 0
    commits: int = 0
    statements: int = 0
    retries: int = 0
    failed_ops: int = 0
    reconnects: int = 0


def unstored_error(cause: WriteFailed | None, unstored: list[list[PreparedOp]]) -> WriteFailed:
    """A WriteFailed for ``cause`` that names what of ``unstored`` is not in the database."""
    ops = sum(len(group) for group in unstored)
    first_seq: dict[str, int] = {}
    for group in unstored:
        for op in group:
            if op.key == "transitions" and type(op) is Prepared:
                flow, seq = op.params["flow_uuid"], op.params["seq"]
                first_seq[flow] = min(seq, first_seq.get(flow, seq))
    reason = str(cause) if cause is not None else "write failed"
    lost = "not stored: %d op(s) in %d write(s)" % (ops, len(unstored))
    if first_seq:
        lost += ", transitions from " + ", ".join(
            "seq %d of flow %s" % (seq, flow) for flow, seq in sorted(first_seq.items())
        )
    return WriteFailed(
        "%s; %s" % (reason, lost),
        unstored_ops=ops,
        unstored_writes=len(unstored),
        first_unstored_seq=first_seq,
    )


def _not_committed(exc: Exception) -> WriteFailed:
    """The error of a write a non-transient ``exc`` sank: the database's, described in
    one line, or recorder's own refusal (a forked trail) as it is."""
    if isinstance(exc, WriteFailed):
        return exc
    return WriteFailed("write could not be committed: %s" % db.describe(exc))


class Applier:
    """Runs groups of prepared ops in one transaction, with the retry rule above.

    Used by one thread at a time (the durable leader or the batched writer);
    it keeps one connection open between commits.
    """

    def __init__(self, engine: Engine, statements: Statements, retry_for: float) -> None:
        self._engine = engine
        self._executor = Executor(statements)
        self._sqlite = statements.dialect == "sqlite"
        self._retry_for = retry_for
        self._conn: Connection | None = None
        self.stats = WriterStats()
        self.fence: Callable[[Connection], None] | None = None
        """Run first in every write transaction; raising refuses the write (a job
        claim that was lost, see ``SQLBackend.set_fence``)."""

    def apply(
        self, groups: list[list[PreparedOp]], *, stop_at_failure: bool = False
    ) -> list[WriteFailed | None]:
        """Commit ``groups``; returns, per group, None or the error that sank it.

        ``stop_at_failure``: a group that fails also sinks every later one (they
        are not run), so what commits is always a prefix of ``groups``.
        """
        first_failure: float | None = None
        delay = 0.01
        while True:
            try:
                return self._attempt(groups, stop_at_failure)
            except Exception as exc:
                self._drop_connection()
                now = time.monotonic()
                if first_failure is None:
                    first_failure = now
                if isinstance(exc, WriteFailed) or not db.is_transient(exc):
                    return self._failed(groups, _not_committed(exc))
                elapsed = now - first_failure
                if elapsed >= self._retry_for:
                    error = WriteFailed(
                        "write not committed after retrying for %.1f s: %s"
                        % (elapsed, db.describe(exc))
                    )
                    return self._failed(groups, error)
                self.stats.retries += 1
                time.sleep(min(delay, self._retry_for - elapsed))
                delay = min(delay * 2, 1.0)

    def _failed(
        self, groups: list[list[PreparedOp]], error: WriteFailed
    ) -> list[WriteFailed | None]:
        self.stats.failed_ops += sum(len(group) for group in groups)
        return [error for _ in groups]

    def _attempt(
        self, groups: list[list[PreparedOp]], stop_at_failure: bool
    ) -> list[WriteFailed | None]:
        conn = self._connection()
        try:
            if self.fence is None:
                self._commit_on_driver(conn, groups)
            else:  # the fence runs SQLAlchemy statements: a SQLAlchemy transaction
                with conn.begin():
                    self.fence(conn)
                    self.stats.statements += self._executor.execute(conn, groups)
        except Exception as exc:
            if db.is_transient(exc) or len(groups) == 1:
                raise
            return self._isolate(conn, groups, stop_at_failure)
        self.stats.commits += 1
        self.stats.ops += sum(map(len, groups))
        return [None] * len(groups)

    def _commit_on_driver(self, conn: Connection, groups: list[list[PreparedOp]]) -> None:
        """One transaction on the driver connection itself, for ``groups``' ops.

        SQLAlchemy's ``begin``/``commit`` machinery costs more than SQLite takes to
        commit a state change, and the executor already sends its statements on a
        driver cursor. SQLAlchemy's ``begin``, ``commit`` and ``rollback`` events still
        fire, so commit counters and statement captures see each transaction.
        """
        driver = db.begin_on_driver(conn, self._sqlite)
        dispatch = conn.dispatch
        try:
            self.stats.statements += self._executor.execute(conn, groups, driver)
            if dispatch.commit:
                dispatch.commit(conn)
            driver.commit()
        except BaseException:
            if dispatch.rollback:
                with contextlib.suppress(Exception):
                    dispatch.rollback(conn)
            with contextlib.suppress(Exception):
                driver.rollback()
            raise

    def _isolate(
        self, conn: Connection, groups: list[list[PreparedOp]], stop_at_failure: bool
    ) -> list[WriteFailed | None]:
        """Run each group in its own savepoint so only the failing ones fail."""
        errors: list[WriteFailed | None] = []
        sunk: WriteFailed | None = None
        with conn.begin():
            if self.fence is not None:
                self.fence(conn)
            for group in groups:
                if sunk is not None:
                    errors.append(sunk)
                    continue
                try:
                    with conn.begin_nested():
                        self.stats.statements += self._executor.execute(conn, [group])
                    errors.append(None)
                except Exception as exc:
                    if db.is_transient(exc):
                        raise
                    failed = _not_committed(exc)
                    errors.append(failed)
                    if stop_at_failure:
                        sunk = failed
        self.stats.commits += 1
        for group, error in zip(groups, errors, strict=True):
            if error is None:
                self.stats.ops += len(group)
            else:
                self.stats.failed_ops += len(group)
        return errors

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect()
            self._conn = conn.execution_options(**{db.WRITE_OPTION: True})
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self.stats.reconnects += 1
        with contextlib.suppress(Exception):
            conn.invalidate()
        with contextlib.suppress(Exception):
            conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
