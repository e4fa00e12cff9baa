"""The guarantees model committing each state change as it happens, as durable mode must.

A durable recorder commits every state change before the engine goes on, so its
Python runs between the driver's commits. The replay (``replay.py``) times the
driver's work back to back, and ``recording_guarantees.py`` times the model's
Python alone; added, they leave out what the two cost each other when they take
turns on one core (caches and the branch predictor filled by one and cold for the
other, and the kernel's work for each commit). Here the model commits each write
in turn, sending the captured transaction for it on the bare driver (any left
over once the flow is done go at the end), so ``(engine + this) / (engine +
replay)`` is the best a durable recorder keeping its promises can reach with its
commits where they must be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from gc_watch import collected_heap
from recording_contract import _Trail, run_contract
from recording_floor import Atom
from recording_guarantees import _GuardedStorage
from recording_runs import fresh_db
from replay import Txn, driver_sender


class _CommittingStorage(_GuardedStorage):
    """The guarded storage, whose every write is taken off the queue and committed."""

    def __init__(self, atoms: list[Atom], trail: _Trail, commit_next: Callable[[], None]) -> None:
        super().__init__(atoms, trail)
        self._commit_next = commit_next
        self.committed = 0

    def end_change(self, atom: Atom, result: Any) -> None:
        super().end_change(atom, result)
        self.drain()  # the write, as the writer takes it
        self._commit_next()
        self.committed += 1


def record_committing(url: str, txns: list[Txn], size: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the model's ``size``-task run committing as it goes into
    the fresh, migrated database at ``url``, the captured ``txns`` in their order."""
    sent = [txn for txn in txns if txn.statements]
    with driver_sender(url) as send:
        pending: Iterator[Txn] = iter(sent)

        def commit_next() -> None:
            txn = next(pending, None)
            if txn is not None:
                send(txn)

        collected_heap()
        started, cpu = time.perf_counter(), time.process_time()
        _, storage = run_contract(
            size, lambda atoms, trail: _CommittingStorage(atoms, trail, commit_next)
        )
        for txn in pending:
            send(txn)
        timed = time.perf_counter() - started, time.process_time() - cpu
    assert storage.committed == 2 * size, "one commit per state change"
    return timed


def committing_fresh(kind: str, tmp: str, txns: list[Txn], size: int) -> tuple[float, float]:
    """:func:`record_committing` into a fresh migrated database of ``kind``, as each
    replay runs."""
    with fresh_db(kind, tmp) as url:
        assert url is not None
        return record_committing(url, txns, size)
