"""The write path: committing prepared ops, durably with group commit or in batches.

Retry rule (both modes): each commit attempt is one transaction holding whole
writes, and every op is idempotent (inserts ignore rows that exist, updates set
absolute values, meta merges set the same keys again), so a transaction whose
fate is unknown can simply run again. Transient errors -- SQLite "database is
locked" after its busy timeout, a PostgreSQL connection that was lost,
terminated or refused, a serialization failure or deadlock -- are retried on a
fresh connection with exponential backoff (10 ms doubling to at most 1 s) until
``retry_for`` seconds (default 10) have passed since the first failure. Then,
or at once for any other error, the ops fail with
:class:`~recorder.exceptions.WriteFailed`.

A non-transient error in a transaction that holds several writes (several
threads' writes in durable mode, many ops in batched mode) does not sink the
others: the transaction is run again with each write in its own SAVEPOINT and
only the writes that fail are reported.

``durable``: :meth:`DurableWriter.submit` returns after the commit. Threads that
write at the same time share one commit: the first becomes the leader, takes
everything pending, commits it in one transaction and wakes the others; a lone
thread pays no hand-over at all.

``batched``: :meth:`BatchedWriter.submit` queues and returns. A daemon thread
commits up to ``batch_size`` ops per transaction, waiting at most
``flush_interval`` for a batch to fill. The queue holds at most ``queue_size``
ops (queued plus being committed); a full queue blocks ``submit`` until the
writer catches up. A failure is raised, once, from the next submit, flush or
close. What a crash can lose is what was queued and not yet committed: at most
``queue_size`` ops, and at most ``flush_interval`` plus one commit's time of
them under light load.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from recorder.exceptions import WriteFailed
from recorder.persistence import db
from recorder.persistence.statements import Prepared, Statements


@dataclass
class WriterStats:
    """Counters for benchmarks and health checks."""

    ops: int = 0
    commits: int = 0
    statements: int = 0
    retries: int = 0
    failed_ops: int = 0
    reconnects: int = 0


class Applier:
    """Runs groups of prepared ops in one transaction, with the retry rule above.

    Used by one thread at a time (the durable leader or the batched writer);
    it keeps one connection open between commits.
    """

    def __init__(self, engine: Engine, statements: Statements, retry_for: float) -> None:
        self._engine = engine
        self._statements = statements
        self._retry_for = retry_for
        self._conn: Connection | None = None
        self.stats = WriterStats()

    def apply(self, groups: list[list[Prepared]]) -> list[WriteFailed | None]:
        """Commit ``groups``; returns, per group, None or the error that sank it."""
        first_failure: float | None = None
        delay = 0.01
        while True:
            try:
                return self._attempt(groups)
            except Exception as exc:
                self._drop_connection()
                now = time.monotonic()
                if first_failure is None:
                    first_failure = now
                if not db.is_transient(exc):
                    error = WriteFailed("write could not be committed: %s" % db.describe(exc))
                    return self._failed(groups, error)
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

    def _failed(self, groups: list[list[Prepared]], error: WriteFailed) -> list[WriteFailed | None]:
        self.stats.failed_ops += sum(len(group) for group in groups)
        return [error for _ in groups]

    def _attempt(self, groups: list[list[Prepared]]) -> list[WriteFailed | None]:
        conn = self._connection()
        ops = [op for group in groups for op in group]
        try:
            with conn.begin():
                self.stats.statements += self._statements.execute(conn, ops)
        except Exception as exc:
            if db.is_transient(exc) or len(groups) == 1:
                raise
            return self._isolate(conn, groups)
        self.stats.commits += 1
        self.stats.ops += len(ops)
        return [None for _ in groups]

    def _isolate(self, conn: Connection, groups: list[list[Prepared]]) -> list[WriteFailed | None]:
        """Run each group in its own savepoint so only the failing ones fail."""
        errors: list[WriteFailed | None] = []
        with conn.begin():
            for group in groups:
                try:
                    with conn.begin_nested():
                        self.stats.statements += self._statements.execute(conn, group)
                    errors.append(None)
                except Exception as exc:
                    if db.is_transient(exc):
                        raise
                    errors.append(
                        WriteFailed("write could not be committed: %s" % db.describe(exc))
                    )
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


@dataclass
class _Request:
    ops: list[Prepared]
    done: bool = False
    error: WriteFailed | None = None


class DurableWriter:
    """Commit before returning; concurrent callers share commits (leader/follower)."""

    def __init__(self, applier: Applier) -> None:
        self._applier = applier
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._leading = False

    def submit(self, ops: list[Prepared]) -> None:
        request = _Request(ops)
        with self._cond:
            self._pending.append(request)
            while not request.done and self._leading:
                self._cond.wait()
            if request.done:
                if request.error is not None:
                    raise request.error
                return
            self._leading = True
            batch, self._pending = self._pending, []
        try:
            errors = self._applier.apply([item.ops for item in batch])
        except BaseException as exc:  # a bug, or KeyboardInterrupt: nobody may hang
            errors = [WriteFailed("write path failed: %r" % exc) for _ in batch]
            raise
        finally:
            with self._cond:
                for item, error in zip(batch, errors, strict=True):
                    item.error = error
                    item.done = True
                self._leading = False
                self._cond.notify_all()
        if request.error is not None:
            raise request.error

    def flush(self) -> None:
        """Everything submitted has been committed when submit returned; wait for a leader."""
        with self._cond:
            while self._leading or self._pending:
                self._cond.wait()

    def close(self) -> None:
        self.flush()
        self._applier.close()


@dataclass
class _Counters:
    enqueued: int = 0
    taken: int = 0
    done: int = 0
    flush_target: int = 0
    lost: int = 0
    error: WriteFailed | None = None
    oldest: float | None = None
    queue: collections.deque[Prepared] = field(default_factory=collections.deque)


class BatchedWriter:
    """Queue ops and commit them from a background thread in batches."""

    def __init__(
        self, applier: Applier, *, queue_size: int, flush_interval: float, batch_size: int
    ) -> None:
        if queue_size < 1 or batch_size < 1 or flush_interval < 0:
            raise ValueError("queue_size and batch_size must be >= 1, flush_interval >= 0")
        self._applier = applier
        self._queue_size = queue_size
        self._interval = flush_interval
        self._batch_size = batch_size
        self._cond = threading.Condition()
        self._c = _Counters()
        self._stopping = False
        self._dead: str | None = None
        self._thread = threading.Thread(target=self._run, name="recorder-writer", daemon=True)
        self._thread.start()

    def submit(self, ops: list[Prepared]) -> None:
        with self._cond:
            self._raise_error()
            # Back-pressure: wait for room (an oversized write waits for an empty queue).
            while (
                self._c.enqueued - self._c.done + len(ops) > self._queue_size
                and self._c.enqueued > self._c.done
                and self._dead is None
            ):
                self._cond.wait()
            self._raise_error()
            if self._c.oldest is None:
                # First op of a batch: wake the writer so its flush_interval clock
                # starts now (it sleeps without a timeout while the queue is empty).
                self._c.oldest = time.monotonic()
                self._cond.notify_all()
            self._c.queue.extend(ops)
            self._c.enqueued += len(ops)
            filled = len(self._c.queue) >= self._batch_size > len(self._c.queue) - len(ops)
            if filled or self._interval == 0:
                self._cond.notify_all()  # a batch just filled: no need to wait

    def pending(self) -> int:
        """Ops queued or being committed right now."""
        with self._cond:
            return self._c.enqueued - self._c.done

    def flush(self) -> None:
        with self._cond:
            target = self._c.enqueued
            self._c.flush_target = max(self._c.flush_target, target)
            self._cond.notify_all()
            while self._c.done < target and self._dead is None:
                self._cond.wait()
            self._raise_error()

    def close(self) -> None:
        error: WriteFailed | None = None
        try:
            self.flush()
        except WriteFailed as exc:
            error = exc
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()
        self._applier.close()
        if error is not None:
            raise error

    def _raise_error(self) -> None:
        if self._dead is not None:
            raise WriteFailed("the background writer stopped: %s" % self._dead)
        error, self._c.error = self._c.error, None
        if error is not None:
            lost, self._c.lost = self._c.lost, 0
            raise WriteFailed("%d queued op(s) were not committed: %s" % (lost, error))

    def _take(self) -> list[Prepared] | None:
        """Wait for a batch worth committing (or a flush, or close) and take it."""
        c = self._c
        with self._cond:
            while not c.queue and not self._stopping:
                self._cond.wait()
            if not c.queue:
                return None
            while (
                len(c.queue) < self._batch_size
                and not self._stopping
                and c.flush_target <= c.taken
                and c.oldest is not None
            ):
                remaining = c.oldest + self._interval - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(len(c.queue), self._batch_size)
            batch = [c.queue.popleft() for _ in range(count)]
            c.taken += count
            # What is left arrived while the last batch was committing: give it its
            # own flush_interval to fill up (the old stamp would make the next batch
            # go at once, however small, and a busy writer would commit op by op).
            c.oldest = time.monotonic() if c.queue else None
            return batch

    def _run(self) -> None:
        try:
            while True:
                batch = self._take()
                if batch is None:
                    return
                errors = self._applier.apply([[op] for op in batch])
                with self._cond:
                    failed = [error for error in errors if error is not None]
                    if failed:
                        self._c.lost += len(failed)
                        if self._c.error is None:
                            self._c.error = failed[0]
                    self._c.done += len(batch)
                    self._cond.notify_all()
        except BaseException as exc:
            with self._cond:
                self._dead = "%s: %s" % (type(exc).__name__, exc)
                self._cond.notify_all()
            raise
