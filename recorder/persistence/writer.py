"""The write path: durable (group commit) or batched, over :mod:`~recorder.persistence.applier`.

Both modes hand whole writes (one ``submit`` each) to the applier, which commits
them with the retry rule. A non-transient error in a transaction holding several
writes is isolated: each write runs again in its own SAVEPOINT. Durable mode
reports only the writes that failed (they are independent callers); batched
mode also sinks every write after the first failure, so what commits stays a
prefix of what was written.

``durable``: :meth:`DurableWriter.submit` returns after the commit. Threads that
write at the same time share one commit: the first becomes the leader, takes
everything pending, commits it in one transaction and wakes the others; a lone
thread pays no hand-over at all.

``batched``: :meth:`BatchedWriter.submit` queues and returns. A daemon thread
commits whole writes, up to ``batch_size`` ops per transaction (a write is
never split across two), waiting at most ``flush_interval`` for a batch to
fill. The queue holds at most ``queue_size`` ops (queued plus being committed);
a full queue blocks ``submit`` until the writer catches up. When a batch fails
for good the writer stops: the writes before the failing one commit, nothing
after it ever does, and every later submit, flush and close raises the
WriteFailed naming what was not stored. What a crash can lose is what was
queued and not yet committed: at most ``queue_size`` ops, and at most
``flush_interval`` plus one commit's time of them under light load -- always
whole writes, the newest ones.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

from recorder.compiled import mypyc_attr
from recorder.exceptions import InvalidArgument, WriteFailed
from recorder.persistence.applier import Applier, WriterStats, unstored_error
from recorder.persistence.statements import PreparedOp

__all__ = ["Applier", "BatchedWriter", "DurableWriter", "WriterStats"]


@mypyc_attr(native_class=False)
@dataclass(slots=True)
class _Request:
    ops: list[PreparedOp]
    done: bool = False
    error: WriteFailed | None = None


class DurableWriter:
    """Commit before returning; concurrent callers share commits (leader/follower)."""

    def __init__(self, applier: Applier) -> None:
        self._applier = applier
        # Held with ``with self._lock`` (the lock's own context manager, in C) rather
        # than through the Condition's Python-level __enter__/__exit__: same lock.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._pending: list[_Request] = []
        self._leading = False
        # Requests submitted and finished, counted: leaders take pending requests
        # oldest first, so a flush waits only for the ones submitted before it.
        self._submitted = 0
        self._finished = 0

    def submit(self, ops: list[PreparedOp]) -> None:
        request = _Request(ops)
        with self._lock:
            self._pending.append(request)
            self._submitted += 1
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
            with self._lock:
                for item, error in zip(batch, errors, strict=True):
                    item.error = None if error is None else unstored_error(error, [item.ops])
                    item.done = True
                self._finished += len(batch)
                self._leading = False
                self._cond.notify_all()
        if request.error is not None:
            raise request.error

    def flush(self) -> None:
        """Wait until every write submitted before this call is done (committed or failed).

        Writes submitted after it are not waited for: with other threads writing
        all the time there is always a leader or a pending write, and waiting for
        none would starve the caller (e.g. a flow registering its trail).
        """
        with self._lock:
            target = self._submitted
            while self._finished < target:
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
    oldest: float | None = None
    queue: collections.deque[list[PreparedOp]] = field(default_factory=collections.deque)
    queued_ops: int = 0  # ops in ``queue`` (counters above count ops too)


class BatchedWriter:
    """Queue writes and commit them from a background thread in batches.

    The unit of a batch is one ``submit`` (one engine write: a state change, its
    audit row and what listeners wrote on hearing it): a batch holds whole writes,
    never part of one. Once a batch fails for good, the writer *stops*: the
    writes before the failing one are committed (a consistent prefix), the
    failing one and every later one are not, and every later submit, flush and
    close raises :class:`~recorder.exceptions.WriteFailed` naming what was not
    stored -- committing later writes past a hole would leave a flow that claims
    work its trail does not hold.
    """

    def __init__(
        self, applier: Applier, *, queue_size: int, flush_interval: float, batch_size: int
    ) -> None:
        if queue_size < 1 or batch_size < 1 or flush_interval < 0:
            raise InvalidArgument("queue_size and batch_size must be >= 1, flush_interval >= 0")
        self._applier = applier
        self._queue_size = queue_size
        self._interval = flush_interval
        self._batch_size = batch_size
        self._lock = threading.RLock()  # (see DurableWriter)
        self._cond = threading.Condition(self._lock)
        self._c = _Counters()
        self._stopping = False
        self._failure: WriteFailed | None = None
        self._worker = threading.Thread(target=self._run, name="recorder-writer", daemon=True)
        self._worker.start()

    @property
    def failure(self) -> WriteFailed | None:
        """The error that stopped the writer, or None while it works."""
        return self._failure

    def submit(self, ops: list[PreparedOp]) -> None:
        c, count = self._c, len(ops)  # (the engine's thread calls this once per write)
        with self._lock:
            if self._failure is not None:
                raise self._failure
            # Back-pressure: wait for room (an oversized write waits for an empty queue).
            while (
                c.enqueued - c.done + count > self._queue_size
                and c.enqueued > c.done
                and self._failure is None
            ):
                self._cond.wait()
            if self._failure is not None:
                raise self._failure
            if c.oldest is None:
                # First write of a batch: wake the writer so its flush_interval clock
                # starts now (it sleeps without a timeout while the queue is empty).
                c.oldest = time.monotonic()
                self._cond.notify_all()
            c.queue.append(ops)
            c.queued_ops += count
            c.enqueued += count
            filled = c.queued_ops >= self._batch_size > c.queued_ops - count
            if filled or self._interval == 0:
                self._cond.notify_all()  # a batch just filled: no need to wait

    def pending(self) -> int:
        """Ops queued or being committed right now."""
        with self._lock:
            return self._c.enqueued - self._c.done

    def flush(self) -> None:
        with self._lock:
            target = self._c.enqueued
            self._c.flush_target = max(self._c.flush_target, target)
            self._cond.notify_all()
            while self._c.done < target and self._failure is None:
                self._cond.wait()
            self._raise_failure()

    def close(self) -> None:
        error: WriteFailed | None = None
        try:
            self.flush()
        except WriteFailed as exc:
            error = exc
        with self._lock:
            self._stopping = True
            self._cond.notify_all()
        self._worker.join()
        self._applier.close()
        if error is not None:
            raise error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _take(self) -> list[list[PreparedOp]] | None:
        """Wait for a batch worth committing (or a flush, or close) and take it."""
        c = self._c
        with self._lock:
            while not c.queue and not self._stopping:
                self._cond.wait()
            if not c.queue:
                return None
            while (
                c.queued_ops < self._batch_size
                and not self._stopping
                and c.flush_target <= c.taken
                and c.oldest is not None
            ):
                remaining = c.oldest + self._interval - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch: list[list[PreparedOp]] = []
            count = 0
            # Whole writes only; the first is taken even when it alone is oversized.
            while c.queue and (not batch or count + len(c.queue[0]) <= self._batch_size):
                group = c.queue.popleft()
                batch.append(group)
                count += len(group)
            c.queued_ops -= count
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
                errors = self._applier.apply(batch, stop_at_failure=True)
                with self._lock:
                    self._c.done += sum(len(group) for group in batch)
                    first = next((i for i, e in enumerate(errors) if e is not None), None)
                    if first is not None:
                        self._stop(errors[first], [*batch[first:], *self._c.queue])
                    self._cond.notify_all()
                if first is not None:
                    return
        except BaseException as exc:
            with self._lock:
                self._stop(WriteFailed("the background writer stopped: %r" % exc), [])
                self._cond.notify_all()
            raise

    def _stop(self, cause: WriteFailed | None, unstored: list[list[PreparedOp]]) -> None:
        """Stop for good (under the lock): drop the queue, remember what was lost."""
        self._c.done += self._c.queued_ops
        self._c.queue.clear()
        self._c.queued_ops = 0
        self._failure = unstored_error(cause, unstored)
