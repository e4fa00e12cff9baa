"""The least Python any recorder of the same facts runs: the floor under the targets.

Full recording of a task's two state changes (RUNNING, SUCCESS) stores, besides
the SQL the database runs: the atom's new state, attempt, result and update
time; TaskFlow's event details handed to two listeners; their meta (TaskFlow's
``<STATE>-timestamp`` and ``duration`` keys: ``record()`` keeps no histories in
meta, the trail holds every attempt) and the engine's ``progress``; and one
hash-chained trail row per change, with its result summary. :func:`record_floor`
computes all of that for a linear flow in one flat function -- no layers, no
ops, no undo, no locks, no notifier, no planning -- and builds the driver
parameters SQLite would be sent (ISO times, JSON texts), but runs no SQL: that
part is the raw-driver replay's, measured beside it.

So ``engine + floor + replay`` is what a recorder with no code around its rows
would cost, and ``(engine + floor + replay) / (engine + replay)`` the best
ratio pure Python can reach against the targets. :func:`check_floor` holds the
floor's trail to the real chain format (``row_hash``), so the floor cannot get
cheaper by skipping work the recorder must do.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from recorder.audit.chain import GENESIS_HASH, fields_hash, row_hash

_UTC = timezone.utc
_dumps = json.dumps
_TRAIL_COLUMNS = (
    "flow_uuid",
    "atom_uuid",
    "kind",
    "name",
    "old_state",
    "new_state",
    "at",
    "seq",
    "attempt",
    "details",
    "prev_hash",
    "hash",
)


class Atom:
    """An atom's stored fields, as plain attributes (the contract's shape uses it too)."""

    __slots__ = ("attempt", "meta", "name", "results", "state", "updated_at", "uuid")

    def __init__(self, name: str) -> None:
        self.name = name
        self.uuid = str(uuid.uuid4())
        self.state = "PENDING"
        self.attempt = 0
        self.results: Any = None
        self.meta: dict[str, Any] = {}
        self.updated_at: datetime | None = None


def _event_time(state: str, atom: Atom, details: dict[str, Any]) -> dict[str, Any]:
    return {state + "-timestamp": details["timestamp"]}


def record_floor(size: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """Record a ``size``-task linear flow's facts in the flattest Python there is.

    Returns the trail rows, the atom update parameters and the trail's
    datetimes (for :func:`check_floor`; the rows hold the SQLite time texts).
    """
    flow_uuid = str(uuid.uuid4())
    atoms = [Atom("t%d" % i) for i in range(size)]
    seq, head = 0, GENESIS_HASH
    started_at: dict[str, float] = {}
    trail: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    stamps: list[Any] = []

    def duration(state: str, atom: Atom, details: dict[str, Any]) -> dict[str, Any] | None:
        if state == "RUNNING":
            started_at[atom.name] = details["timestamp"]
            return None
        return {"duration": details["timestamp"] - started_at.pop(atom.name)}

    listeners = (_event_time, duration)
    for atom in atoms:
        for new, result, progress in (("RUNNING", None, 0.0), ("SUCCESS", 1, 1.0)):
            timestamp = time.time()
            old = atom.state
            attempt = atom.attempt + 1 if new == "RUNNING" else atom.attempt
            details = {
                "task_name": atom.name,
                "task_uuid": atom.uuid,
                "old_state": old,
                "timestamp": timestamp,
                "attempt": attempt,
                "flow_uuid": flow_uuid,
            }
            if result is not None:
                details["result"] = result
                atom.results = result
            atom.state, atom.attempt = new, attempt
            meta: dict[str, Any] = {"progress": progress}
            for listener in listeners:
                patch = listener(new, atom, details)
                if patch:
                    meta.update(patch)
            atom.meta.update(meta)
            at = datetime.fromtimestamp(timestamp, _UTC)
            atom.updated_at = at
            summary = {} if result is None else {"result": {"type": "int", "repr": repr(result)}}
            seq, prev = seq + 1, head
            head = fields_hash(
                flow_uuid, atom.uuid, "task", atom.name, old, new, at, seq, attempt, summary, prev
            )
            at_text = at.isoformat(" ", "microseconds")
            details_text = _dumps(summary) if summary else "{}"
            row = (flow_uuid, atom.uuid, "task", atom.name, old, new, at_text, seq, attempt)
            trail.append((*row, details_text, prev, head))
            stamps.append(at)
            params: list[Any] = [new, attempt, at_text, atom.uuid]
            if result is not None:
                params.append(_dumps(result))
            for key, value in meta.items():
                params.append('$."%s"' % key)
                params.append(repr(value) if type(value) is float else _dumps(value))
            updates.append(tuple(params))
    return trail, updates, stamps


def check_floor(
    trail: list[tuple[Any, ...]], updates: list[tuple[Any, ...]], stamps: list[Any]
) -> None:
    """The floor's trail is a valid chain in the stored format, one row per change."""
    assert len(trail) == len(updates) == len(stamps)
    previous = GENESIS_HASH
    for row, at in zip(trail, stamps, strict=True):
        fields = dict(zip(_TRAIL_COLUMNS, row, strict=True))
        fields["at"] = at
        fields["details"] = json.loads(fields["details"])
        assert fields["prev_hash"] == previous, "floor trail does not chain"
        assert row_hash(fields) == fields["hash"], "floor trail hash differs from row_hash"
        previous = fields["hash"]
