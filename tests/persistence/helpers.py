"""Op builders that keep the persistence tests short: times, a flow, its transitions."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from recorder.failure import Failure
from recorder.persistence.models import new_uuid
from recorder.persistence.ops import (
    AppendTransition,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
)
from recorder.persistence.rows import TransitionRow

T0 = datetime(2024, 5, 17, 12, 0, 0, 123456, tzinfo=timezone.utc)
_tick = itertools.count(1)


def at(seconds: float = 0.0) -> datetime:
    """T0 plus ``seconds`` (times with microseconds, to prove they round-trip)."""
    return T0 + timedelta(seconds=seconds)


def later() -> datetime:
    """A strictly increasing time, for update ops."""
    return T0 + timedelta(milliseconds=next(_tick), microseconds=7)


class Flow:
    """A logbook, a flow and some atoms, created through ``backend.write``."""

    def __init__(self, backend: Any, atoms: tuple[str, ...] = ("a", "b"), name: str = "flow"):
        self.backend = backend
        self.logbook = new_uuid()
        self.uuid = new_uuid()
        self.atoms = {atom: new_uuid() for atom in atoms}
        self.name = name
        self.seq = 0
        backend.write(self.save_ops())

    def save_ops(self) -> list[Any]:
        """The ops that create the logbook, the flow and its atoms."""
        return [
            SaveLogbook(self.logbook, "book", {"owner": "tests"}, at()),
            SaveFlow(self.uuid, self.logbook, self.name, "PENDING", {"factory": None}, at(0.5)),
            *(
                SaveAtom(uuid, self.uuid, atom, "task", "PENDING", "EXECUTE", "1.0", {}, at(1))
                for atom, uuid in self.atoms.items()
            ),
        ]

    def transition(
        self,
        atom: str | None,
        old: str | None,
        new: str,
        when: float,
        attempt: int = 0,
        details: dict[str, Any] | None = None,
    ) -> AppendTransition:
        """The next transition of this flow (seq counts up from 0)."""
        op = AppendTransition(
            flow_uuid=self.uuid,
            atom_uuid=None if atom is None else self.atoms[atom],
            kind="flow" if atom is None else "task",
            name=self.name if atom is None else atom,
            old_state=old,
            new_state=new,
            at=at(when),
            seq=self.seq,
            attempt=attempt,
            details=details or {},
            prev_hash="h%d" % (self.seq - 1) if self.seq else "",
            hash="h%d" % self.seq,
        )
        self.seq += 1
        return op


def transitions_of(backend: Any, flow_uuid: str) -> list[TransitionRow]:
    """Stored transitions of a flow, in seq order, from any backend."""
    result: list[TransitionRow] = backend.load_transitions(flow_uuid)
    return result


def as_stored(ops: list[AppendTransition]) -> list[TransitionRow]:
    """The rows writing ``ops`` stores (rows compare equal whatever their ids)."""
    return [TransitionRow.of(op) for op in ops]


def as_lists(value: Any) -> Any:
    """``value`` with tuples turned into lists (what JSON storage gives back) and
    failures into their dicts (a stored failure matches, but is not equal to, a live one)."""
    if isinstance(value, Failure):
        return as_lists(value.to_dict())
    if isinstance(value, (list, tuple)):
        return [as_lists(item) for item in value]
    if isinstance(value, dict):
        return {key: as_lists(item) for key, item in value.items()}
    return value
