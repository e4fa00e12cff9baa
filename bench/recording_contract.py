"""The same facts as the flat floor, in the shape TaskFlow's contract gives them.

``recording_floor.py`` records a flow's facts in one function. A recorder that
TaskFlow's listeners can run on cannot be one function: the engine changes an
atom's state in its storage and tells a notifier; the notifier hands each
registered listener its own copy of the event details (after its filter); each
listener computes its meta and calls ``storage.update_atom_metadata``; and the
trail is a hook storage asks for a row on each state change. :func:`record_contract`
is that shape and nothing more: plain objects, one registration per listener, one
update row per state change (the meta folded in), and none of what recorder adds
around it -- no undo, no locks, no ops, no backend, no writer.

So ``contract - floor`` is what the listener contract's shape costs by itself, a
part of recorder's layers that no design keeping the contract can drop. Its
output is the floor's, held to the chain format by ``check_floor``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from recording_floor import Atom

from recorder.audit.chain import GENESIS_HASH, fields_hash

_UTC = timezone.utc
_dumps = json.dumps
Details = dict[str, Any]
Receiver = Callable[..., None]
_S = TypeVar("_S", bound="_Storage")


class _Notifier:
    """TaskFlow's notify: each listener, if its filter passes, gets its own details."""

    def __init__(self) -> None:
        self._listeners: list[tuple[Receiver, Callable[[Details], bool] | None]] = []

    def register(
        self, receiver: Receiver, details_filter: Callable[[Details], bool] | None
    ) -> None:
        self._listeners.append((receiver, details_filter))

    def notify(self, event: str, details: Details) -> None:
        for receiver, details_filter in self._listeners:
            if details_filter is None or details_filter(details):
                receiver(event, details=dict(details))


class _Trail:
    """The transition hook: one hash-chained row per state change."""

    def __init__(self, flow_uuid: str) -> None:
        self.flow_uuid = flow_uuid
        self.seq = 0
        self.head = GENESIS_HASH
        self.rows: list[tuple[Any, ...]] = []
        self.stamps: list[datetime] = []

    def __call__(self, atom: Atom, old: str, at: datetime, result: Any) -> None:
        summary = {} if result is None else {"result": {"type": "int", "repr": repr(result)}}
        self.seq, prev = self.seq + 1, self.head
        self.head = fields_hash(
            self.flow_uuid,
            atom.uuid,
            "task",
            atom.name,
            old,
            atom.state,
            at,
            self.seq,
            atom.attempt,
            summary,
            prev,
        )
        at_text = at.isoformat(" ", "microseconds")
        row = (self.flow_uuid, atom.uuid, "task", atom.name, old, atom.state, at_text)
        details = _dumps(summary) if summary else "{}"
        self.rows.append((*row, self.seq, atom.attempt, details, prev, self.head))
        self.stamps.append(at)


class _Storage:
    """Atoms by name; a state change and the meta its listeners add make one update row."""

    def __init__(self, atoms: list[Atom], trail: _Trail) -> None:
        self._atoms = {atom.name: atom for atom in atoms}
        self._trail = trail
        self._pending: dict[str, Any] | None = None
        self.updates: list[tuple[Any, ...]] = []

    def set_atom_state(
        self, atom: Atom, state: str, attempt: int, result: Any, when: float
    ) -> None:
        old = atom.state
        atom.state, atom.attempt = state, attempt
        if result is not None:
            atom.results = result
        at = datetime.fromtimestamp(when, _UTC)
        atom.updated_at = at
        self._trail(atom, old, at, result)
        self._pending = {}

    def update_atom_metadata(self, name: str, update_with: dict[str, Any]) -> None:
        atom = self._atoms[name]
        patch = dict(update_with)
        atom.meta.update(patch)
        if self._pending is not None:
            self._pending.update(patch)

    def end_change(self, atom: Atom, result: Any) -> None:
        """The state change's update row, with the meta merged since it began."""
        meta, self._pending = self._pending or {}, None
        at = atom.updated_at
        assert at is not None
        params: list[Any] = [atom.state, atom.attempt, at.isoformat(" ", "microseconds"), atom.uuid]
        if result is not None:
            params.append(_dumps(result))
        for key, value in meta.items():
            params.append('$."%s"' % key)
            params.append(repr(value) if type(value) is float else _dumps(value))
        self.updates.append(tuple(params))


class _EventTime:
    def __init__(self, storage: _Storage) -> None:
        self._storage = storage

    def receive(self, state: str, details: Details) -> None:
        self._storage.update_atom_metadata(
            details["task_name"], {state + "-timestamp": details["timestamp"]}
        )


class _Duration:
    def __init__(self, storage: _Storage) -> None:
        self._storage = storage
        self._started: dict[str, float] = {}

    def receive(self, state: str, details: Details) -> None:
        name = details["task_name"]
        if state == "RUNNING":
            self._started[name] = details["timestamp"]
            return
        started = self._started.pop(name)
        self._storage.update_atom_metadata(name, {"duration": details["timestamp"] - started})


def _is_task(details: Details) -> bool:
    return "task_name" in details


def record_contract(size: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """:func:`recording_floor.record_floor`'s facts for a ``size``-task linear flow, by
    an engine loop, a notifier, two listener objects, a storage and a trail hook."""
    trail, storage = run_contract(size, _Storage)
    return trail.rows, storage.updates, trail.stamps


def run_contract(size: int, make_storage: Callable[[list[Atom], _Trail], _S]) -> tuple[_Trail, _S]:
    """The contract's engine loop over a ``size``-task linear flow, on the storage
    ``make_storage`` builds (``recording_guarantees.py`` gives its own)."""
    flow_uuid = str(uuid.uuid4())
    atoms = [Atom("t%d" % i) for i in range(size)]
    trail = _Trail(flow_uuid)
    storage = make_storage(atoms, trail)
    notifier = _Notifier()
    notifier.register(_EventTime(storage).receive, _is_task)
    notifier.register(_Duration(storage).receive, _is_task)
    for atom in atoms:
        for new, result, progress in (("RUNNING", None, 0.0), ("SUCCESS", 1, 1.0)):
            timestamp = time.time()
            old = atom.state
            attempt = atom.attempt + 1 if new == "RUNNING" else atom.attempt
            storage.set_atom_state(atom, new, attempt, result, timestamp)
            storage.update_atom_metadata(atom.name, {"progress": progress})
            details: Details = {
                "task_name": atom.name,
                "task_uuid": atom.uuid,
                "old_state": old,
                "timestamp": timestamp,
                "attempt": attempt,
                "flow_uuid": flow_uuid,
            }
            if result is not None:
                details["result"] = result
            notifier.notify(new, details)
            storage.end_change(atom, result)
    return trail, storage
