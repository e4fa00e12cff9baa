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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder.exceptions import WriteFailed
from recorder.persistence.rows import TransitionFields

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


@dataclass(frozen=True)
class SaveLogbook:
    """Create a logbook if it does not exist yet (re-saving is a no-op)."""

    uuid: str
    name: str
    meta: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class SaveFlow:
    """Create a flow detail row if it does not exist yet (re-saving is a no-op)."""

    uuid: str
    logbook_uuid: str
    name: str
    state: str | None
    meta: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class UpdateFlow:
    """Change one flow's state and/or merge keys into its meta."""

    uuid: str
    at: datetime
    state: str | None = None
    meta_patch: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class UpdateAtom:
    """Set some fields of one atom (``changes`` keys from ATOM_FIELDS) and/or merge meta."""

    uuid: str
    at: datetime
    changes: Mapping[str, Any]
    meta_patch: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AppendTransition(TransitionFields):
    """Append one row to the transitions audit trail (never updated afterwards).

    Its fields are the table's written columns (:class:`~recorder.persistence.rows.
    TransitionFields`). ``seq`` is gap-free per flow, ``attempt`` per atom; ``hash``
    chains each row to the previous row of the same flow (``prev_hash``) so loss or
    tampering shows.
    """


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
    first: dict[tuple[str, str], int] = {}
    folded: list[Op] = []
    later: dict[int, list[UpdateAtom | UpdateFlow]] = {}  # index in folded -> its row's updates
    for op in ops:
        if not isinstance(op, (UpdateAtom, UpdateFlow)):
            folded.append(op)
            continue
        key = (type(op).__name__, op.uuid)
        index = first.get(key)
        if index is None:
            first[key] = len(folded)
            folded.append(op)
        elif index in later:
            later[index].append(op)
        else:
            later[index] = [folded[index], op]  # type: ignore[list-item]
    for index, updates in later.items():  # one op per row, built once
        folded[index] = _fold_row(updates)
    return folded


def _fold_row(updates: list[UpdateAtom | UpdateFlow]) -> Op:
    """One op with the effect of ``updates`` of one row (all of one type), in order."""
    meta: dict[str, Any] = {}
    last = updates[-1]
    if isinstance(last, UpdateAtom):
        changes: dict[str, Any] = {}
        for op in updates:
            if isinstance(op, UpdateAtom):  # all are: one row, one op type
                changes.update(op.changes)
            if op.meta_patch:
                meta.update(op.meta_patch)
        return UpdateAtom(last.uuid, last.at, changes, meta or None)
    state = None
    for op in updates:
        if isinstance(op, UpdateFlow) and op.state is not None:
            state = op.state
        if op.meta_patch:
            meta.update(op.meta_patch)
    return UpdateFlow(last.uuid, last.at, state=state, meta_patch=meta or None)
