"""The facts of one transitions row, and the one type a stored row is read back as.

:class:`TransitionFields` names the columns of ``transitions`` (:mod:`.schema`)
that a recorder writes: every column but ``id``, in the table's order (a test
holds the two together). Two types share them:
:class:`~recorder.persistence.ops.AppendTransition`, the write op, and
:class:`TransitionRow`, what every reader gets back (a backend's
``load_transitions``, verify, the query layer) -- the same facts plus the ``id``
the database gave the row. A row equals another with the same facts whatever
their ids (ids are not comparable across databases).

No SQLAlchemy here: code that only handles rows need not import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TransitionFields:
    """One state change of a flow or an atom, as the ``transitions`` table keeps it.

    ``atom_uuid`` is None for the flow; ``kind`` is 'flow', 'task' or 'retry';
    ``at`` aware UTC; ``seq`` gap-free per flow; ``attempt`` per atom (0 for the
    flow); ``details`` small JSON; ``prev_hash``/``hash`` chain the flow's rows.
    """

    flow_uuid: str
    atom_uuid: str | None
    kind: str
    name: str
    old_state: str | None
    new_state: str
    at: datetime
    seq: int
    attempt: int
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TransitionFields))
"""The written columns of ``transitions``, in table order (checked against the schema)."""


@dataclass(frozen=True, slots=True)
class TransitionRow(TransitionFields):
    """A stored transitions row: its facts, and ``id`` (the database's insertion order;
    a MemoryBackend numbers its rows the same way). Read in ``seq`` order."""

    id: int | None = field(default=None, compare=False)

    @classmethod
    def of(cls, facts: TransitionFields, id: int | None = None) -> TransitionRow:
        """The row that storing ``facts`` (e.g. an AppendTransition op) gives."""
        return cls(**{name: getattr(facts, name) for name in FIELD_NAMES}, id=id)


TRAIL_META_KEY = "transitions_trail"
"""Flow meta key the TransitionRecorder sets (True) in the same write as its first row
of the flow: a trail deleted whole is then told apart from a flow never recorded."""


@dataclass(frozen=True)
class StoredAtom:
    """What atom_details says about one atom."""

    uuid: str
    name: str
    kind: str
    state: str | None
    attempt: int


@dataclass(frozen=True)
class StoredFlow:
    """What flow_details and atom_details say about one flow."""

    uuid: str
    name: str
    state: str | None
    recorded: bool
    atoms: tuple[StoredAtom, ...]
