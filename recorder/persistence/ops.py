"""The facts storage hands to a backend: small, immutable write operations.

The engine's storage never asks a backend to "save this whole row again". Each
change becomes one op naming only what changed, so a backend can write it with a
single statement that touches a single row (TaskFlow re-reads and rewrites whole
rows, and every atom row on a flow-level save). Ops are applied in order; a
backend may group consecutive ops into one transaction, never reorder them.

``meta_patch`` merges top-level keys into the stored meta (like ``dict.update``):
keys not named are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder.compiled import mypyc_attr
from recorder.exceptions import WriteFailed
from recorder.persistence.rows import FIELD_NAMES, TransitionFields

# Fields of an atom detail that UpdateAtom.changes may name.
ATOM_FIELDS = frozenset(
    {
        "state",
        "intention",
        "version",
        "results",
        "failure",
        "revert_results",
        "revert_failure",
        "attempt",
    }
)


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True)
class SaveLogbook:
    """Create a logbook if it does not exist yet (re-saving is a no-op)."""

    uuid: str
    name: str
    meta: Mapping[str, Any]
    at: datetime


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True)
class SaveFlow:
    """Create a flow detail row if it does not exist yet (re-saving is a no-op)."""

    uuid: str
    logbook_uuid: str
    name: str
    state: str | None
    meta: Mapping[str, Any]
    at: datetime


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True, init=False)
class SaveAtom:
    """Create an atom detail row if it does not exist yet (re-saving is a no-op)."""

    uuid: str
    flow_uuid: str
    name: str
    kind: str
    state: str | None
    intention: str
    version: str | None
    meta: Mapping[str, Any]
    at: datetime

    def __init__(
        self,
        uuid: str,
        flow_uuid: str,
        name: str,
        kind: str,
        state: str | None,
        intention: str,
        version: str | None,
        meta: Mapping[str, Any],
        at: datetime,
    ) -> None:
        # (One per atom a flow loads: see UpdateAtom's __init__.)
        self.__dict__.update(
            uuid=uuid,
            flow_uuid=flow_uuid,
            name=name,
            kind=kind,
            state=state,
            intention=intention,
            version=version,
            meta=meta,
            at=at,
        )


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True)
class UpdateFlow:
    """Change one flow's state and/or merge keys into its meta."""

    uuid: str
    at: datetime
    state: str | None = None
    meta_patch: Mapping[str, Any] | None = None


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True, init=False)
class UpdateAtom:
    """Set some fields of one atom (``changes`` keys from ATOM_FIELDS) and/or merge meta."""

    uuid: str
    at: datetime
    changes: Mapping[str, Any]
    meta_patch: Mapping[str, Any] | None = None

    def __init__(
        self,
        uuid: str,
        at: datetime,
        changes: Mapping[str, Any],
        meta_patch: Mapping[str, Any] | None = None,
    ) -> None:
        # Set once, here, into the instance's dict: a frozen dataclass's own __init__
        # calls object.__setattr__ per field, which costs twice this (one per state change).
        self.__dict__.update(uuid=uuid, at=at, changes=changes, meta_patch=meta_patch)


# The slots' own setters, in field order: a frozen dataclass's __init__ looks up
# object.__setattr__ for each field, and a trail row is made per state change.
_SET_TRANSITION_FIELD = tuple(getattr(TransitionFields, name).__set__ for name in FIELD_NAMES)


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True, slots=True, init=False)
class AppendTransition(TransitionFields):
    """Append one row to the transitions audit trail (never updated afterwards).

    Its fields are the table's written columns (:class:`~recorder.persistence.rows.
    TransitionFields`). ``seq`` is gap-free per flow, ``attempt`` per atom; ``hash``
    chains each row to the previous row of the same flow (``prev_hash``) so loss or
    tampering shows.
    """

    def __init__(
        self,
        flow_uuid: str,
        atom_uuid: str | None,
        kind: str,
        name: str,
        old_state: str | None,
        new_state: str,
        at: datetime,
        seq: int,
        attempt: int,
        details: Mapping[str, Any],
        prev_hash: str,
        hash: str,
    ) -> None:
        put = _SET_TRANSITION_FIELD
        put[0](self, flow_uuid)
        put[1](self, atom_uuid)
        put[2](self, kind)
        put[3](self, name)
        put[4](self, old_state)
        put[5](self, new_state)
        put[6](self, at)
        put[7](self, seq)
        put[8](self, attempt)
        put[9](self, details)
        put[10](self, prev_hash)
        put[11](self, hash)


def trail_conflict(flow_uuid: str, seq: int) -> WriteFailed:
    """The error of an append where the database already holds a *different* row at
    ``seq`` of the flow: another engine wrote its trail (two engines on one flow, or
    a killed process whose last commit landed after a resume began). The same row
    again is a retried write and is kept once; a different one would fork the chain."""
    return WriteFailed(
        "flow %s already has another transitions row at seq %d (another engine wrote its"
        " trail): not stored, so the chain does not fork" % (flow_uuid, seq),
        unstored_ops=1,
        unstored_writes=1,
        first_unstored_seq={flow_uuid: seq},
    )


@mypyc_attr(native_class=False)  # (a record: a frozen dataclass)
@dataclass(frozen=True)
class DeleteRow:
    """Delete one logbook, flow detail or atom detail row (TaskFlow's connection API).

    Never a transitions row: the audit trail is append-only, and a flow that
    has one cannot be deleted (its rows reference it).
    """

    table: str  # 'logbooks' | 'flow_details' | 'atom_details'
    uuid: str


DELETABLE = ("atom_details", "flow_details", "logbooks")  # children first

Op = SaveLogbook | SaveFlow | SaveAtom | UpdateFlow | UpdateAtom | AppendTransition | DeleteRow


def fold_updates(ops: list[Op]) -> list[Op]:
    """``ops`` with every later update of a row merged into its first update.

    Same effect when the ops are applied together: later field values win and
    meta patches merge in order, exactly as applying them one by one would.
    """
    if len(ops) < 2:
        return ops
    folder = UpdateFolder()
    folder.extend(ops)
    return folder.ops()


class _RowUpdates:
    """The updates of one row gathered so far (by :class:`UpdateFolder`)."""

    __slots__ = ("at", "changes", "is_atom", "merged", "meta", "op", "state", "uuid")

    def __init__(
        self,
        op: UpdateAtom | UpdateFlow | None,
        is_atom: bool,
        uuid: str,
        at: datetime,
        changes: Mapping[str, Any],
        state: str | None,
        meta: Mapping[str, Any] | None,
    ) -> None:
        self.op = op  # the first update as given, kept while nothing is merged into it
        self.is_atom = is_atom
        self.uuid = uuid
        self.at = at
        self.changes = changes
        self.state = state
        self.meta = meta
        self.merged = False

    def _own(self) -> None:
        """Copy the given dicts before the first merge: they are the callers'."""
        if not self.merged:
            self.changes = dict(self.changes)
            self.meta = dict(self.meta) if self.meta else {}
            self.merged = True
            self.op = None

    def merge(self, later: _RowUpdates) -> None:
        """Fold ``later`` (an update of the same row) into this one."""
        self._own()
        self.at = later.at
        if later.changes:
            self.changes.update(later.changes)  # type: ignore[attr-defined]
        if later.state is not None:
            self.state = later.state
        if later.meta:
            self.meta.update(later.meta)  # type: ignore[union-attr]

    def build(self) -> UpdateAtom | UpdateFlow:
        if self.op is not None:
            return self.op
        meta = self.meta or None
        if self.is_atom:
            return UpdateAtom(self.uuid, self.at, self.changes, meta)
        return UpdateFlow(self.uuid, self.at, state=self.state, meta_patch=meta)


class UpdateFolder:
    """Gathers the ops of one write, folding each later update of a row into the row's
    first update as it arrives (what :func:`fold_updates` does to a finished list).

    The write path of a flow gathers a state change, its audit rows and the meta
    listeners add this way: each update is merged once, into plain dicts, and one
    op per row is built at the end (:meth:`ops`).
    """

    __slots__ = ("_entries", "_rows")

    def __init__(self) -> None:
        self._entries: list[Op | _RowUpdates] = []
        self._rows: dict[tuple[bool, str], _RowUpdates] = {}

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, op: Op) -> None:
        if type(op) is AppendTransition:  # (a state change's trail row, the most common)
            self._entries.append(op)
        elif isinstance(op, UpdateAtom):
            self._update(_RowUpdates(op, True, op.uuid, op.at, op.changes, None, op.meta_patch))
        elif isinstance(op, UpdateFlow):
            self._update(_RowUpdates(op, False, op.uuid, op.at, {}, op.state, op.meta_patch))
        else:
            self._entries.append(op)

    def extend(self, ops: Iterable[Op]) -> None:
        for op in ops:
            self.add(op)

    def update_atom(
        self, uuid: str, at: datetime, changes: Mapping[str, Any], meta: Mapping[str, Any] | None
    ) -> None:
        """An :class:`UpdateAtom`'s fields, without building the op (``changes`` and
        ``meta`` are the caller's new dicts, read until :meth:`ops`)."""
        self._update(_RowUpdates(None, True, uuid, at, changes, None, meta))

    def merge_atom_meta(self, uuid: str, meta: Mapping[str, Any]) -> bool:
        """Merge ``meta`` (the caller's new dict) into the gathered update of atom
        ``uuid``, keeping that update's time; False when none was gathered."""
        row = self._rows.get((True, uuid))
        if row is None:
            return False
        row._own()  # (a later meta patch of the row: its time unchanged)
        row.meta.update(meta)  # type: ignore[union-attr]
        return True

    def _update(self, update: _RowUpdates) -> None:
        key = (update.is_atom, update.uuid)
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = update
            self._entries.append(update)
        else:
            row.merge(update)

    def ops(self) -> list[Op]:
        """The gathered ops, in order, one update per row (at its first update's place)."""
        return [entry.build() if type(entry) is _RowUpdates else entry for entry in self._entries]  # type: ignore[misc]
