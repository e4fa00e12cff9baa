"""The contract's shape plus what recorder guarantees around each row, kept flat.

``recording_contract.py`` gives the facts in the shape TaskFlow's listener
contract imposes, and nothing more. Recorder also promises, on the engine's
thread, for every state change:

* the flow's atoms are rows before the flow runs (one saved row per atom, made
  while it loads, committed with the first state change);
* a refused write leaves memory as it was: the fields and meta keys a change
  touches are remembered before it touches them, to put back;
* storage is shared by the threads of a parallel engine: changes run under a lock;
* bad input fails in the caller, before anything is queued: a meta key that is
  not a string is refused;
* a state change, the meta its listeners add and its trail row go to the writer
  as one write, through a queue under a condition (the batched writer's hand-off,
  with its back-pressure check), and the writer groups the queued writes into
  one parameter list per statement.

:func:`record_guaranteed` is the contract's shape with each of those added in the
least Python that does it: no ops, no folding, no modules between them. So
``guarantees - contract`` is what keeping them costs at the least, and
``engine + guarantees + replay`` what the flattest recorder that keeps every
promise would cost -- the figure the targets are measured against in
``bench_recording.py``. Its output is the floor's, held to the chain format by
``check_floor``.
"""

from __future__ import annotations

import collections
import threading
from datetime import datetime, timezone
from typing import Any

from recording_contract import _Storage, _Trail, run_contract
from recording_floor import Atom

_UTC = timezone.utc
_MISSING = object()


class _GuardedStorage(_Storage):
    """The contract's storage, with undo, a lock, input checks and the hand-off."""

    def __init__(self, atoms: list[Atom], trail: _Trail) -> None:
        super().__init__(atoms, trail)
        flow_uuid = trail.flow_uuid
        self._lock = threading.RLock()
        self._ready = threading.Condition(threading.Lock())
        self._queue: collections.deque[list[tuple[Any, ...]]] = collections.deque()
        self._queued = 0
        self._undo: list[tuple[Any, str, Any]] = []
        created = datetime.now(_UTC).isoformat(" ", "microseconds")
        # The rows the load saves, held back to go with the first write.
        self._setup: list[tuple[Any, ...]] = [
            (atom.uuid, flow_uuid, atom.name, "task", "PENDING", "EXECUTE", "1.0", "{}", created)
            for atom in atoms
        ]

    def set_atom_state(
        self, atom: Atom, state: str, attempt: int, result: Any, when: float
    ) -> None:
        with self._lock:
            undo = self._undo
            undo.append((atom, "state", atom.state))
            undo.append((atom, "attempt", atom.attempt))
            undo.append((atom, "updated_at", atom.updated_at))
            if result is not None:
                undo.append((atom, "results", atom.results))
            super().set_atom_state(atom, state, attempt, result, when)

    def update_atom_metadata(self, name: str, update_with: dict[str, Any]) -> None:
        for key in update_with:
            if type(key) is not str:
                raise TypeError("meta keys must be strings, not %r" % (key,))
        with self._lock:
            meta = self._atoms[name].meta
            for key in update_with:
                self._undo.append((meta, key, meta.get(key, _MISSING)))
            super().update_atom_metadata(name, update_with)

    def end_change(self, atom: Atom, result: Any) -> None:
        with self._lock:
            super().end_change(atom, result)
            write = [self.updates.pop(), self._trail.rows[-1]]
            if self._setup:
                write[:0], self._setup = self._setup, []
            with self._ready:
                while self._queued > 10_000:  # (back-pressure: never true here)
                    self._ready.wait()
                if not self._queue:
                    self._ready.notify_all()
                self._queue.append(write)
                self._queued += len(write)
            self._undo = []  # handed over: nothing to put back

    def drain(self) -> tuple[list[tuple[Any, ...]], ...]:
        """What the writer does before its SQL: the queued writes as one parameter list
        per statement (atom saves, atom updates, trail rows)."""
        with self._ready:
            writes, self._queue = self._queue, collections.deque()
            self._queued = 0
        saves: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        for write in writes:
            *setup, update, row = write
            saves.extend(setup)
            updates.append(update)
            rows.append(row)
        return saves, updates, rows


def record_guaranteed(size: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """:func:`recording_contract.record_contract`'s run with recorder's guarantees kept:
    the rows returned are those that went through the hand-off."""
    trail, storage = run_contract(size, _GuardedStorage)
    saves, updates, rows = storage.drain()
    assert len(saves) == size, "every atom's saved row goes with the first write"
    return rows, updates, trail.stamps
