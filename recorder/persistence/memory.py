"""An in-process backend: applies ops to plain records in a dict.

It is what an engine uses when no database is given, and the reference the SQL
backend is tested against (the storage contract suite runs on both). Loads
return deep copies, as a database would, so a loaded flow never aliases the
records a running engine is changing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from recorder.exceptions import NotFound
from recorder.persistence.copying import copy_value
from recorder.persistence.models import AtomDetail, FlowDetail, LogBook, atom_detail_class
from recorder.persistence.ops import (
    AppendTransition,
    DeleteRow,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
    trail_conflict,
)
from recorder.persistence.rows import TransitionRow


class MemoryBackend:
    """Keeps logbooks, flows, atoms and transitions in memory; every write is durable."""

    mode = "durable"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.logbooks: dict[str, LogBook] = {}
        self.flows: dict[str, FlowDetail] = {}
        self.atoms: dict[str, AtomDetail] = {}
        # The rows as stored (ids count up across flows, as a database's do).
        self.transitions: list[TransitionRow] = []
        self._transition_keys: dict[tuple[str, int], str] = {}  # -> the stored row's hash

    def write(self, ops: Sequence[Op]) -> None:
        with self._lock:
            self._refuse_forks(ops)
            for op in ops:
                self._apply(op)

    def _refuse_forks(self, ops: Sequence[Op]) -> None:
        """Like the SQL backend: a different row where one is stored fails the whole write."""
        for op in ops:
            if isinstance(op, AppendTransition):
                stored = self._transition_keys.get((op.flow_uuid, op.seq))
                if stored is not None and stored != op.hash:
                    raise trail_conflict(op.flow_uuid, op.seq)

    def _apply(self, op: Op) -> None:
        if isinstance(op, SaveLogbook):
            if op.uuid not in self.logbooks:
                self.logbooks[op.uuid] = LogBook(
                    name=op.name, uuid=op.uuid, meta=dict(op.meta), created_at=op.at
                )
        elif isinstance(op, SaveFlow):
            if op.uuid not in self.flows:
                flow = FlowDetail(
                    name=op.name,
                    uuid=op.uuid,
                    logbook_uuid=op.logbook_uuid,
                    state=op.state,
                    meta=copy_value(dict(op.meta)),
                    created_at=op.at,
                )
                self.flows[op.uuid] = flow
                self.logbooks[op.logbook_uuid].flows[op.uuid] = flow
        elif isinstance(op, SaveAtom):
            if op.uuid not in self.atoms:
                atom = atom_detail_class(op.kind)(
                    name=op.name,
                    uuid=op.uuid,
                    kind=op.kind,
                    state=op.state,
                    intention=op.intention,
                    version=op.version,
                    meta=copy_value(dict(op.meta)),
                    created_at=op.at,
                )
                self.atoms[op.uuid] = atom
                self.flows[op.flow_uuid].atoms[op.name] = atom
        elif isinstance(op, UpdateFlow):
            flow = self.flows[op.uuid]
            if op.state is not None:
                flow.state = op.state
            if op.meta_patch:
                flow.meta.update(copy_value(dict(op.meta_patch)))
            flow.updated_at = op.at
        elif isinstance(op, UpdateAtom):
            atom = self.atoms[op.uuid]
            for key, value in op.changes.items():
                setattr(atom, key, copy_value(value))
            if op.meta_patch:
                atom.meta.update(copy_value(dict(op.meta_patch)))
            atom.updated_at = op.at
        elif isinstance(op, DeleteRow):
            self._delete(op)
        elif (
            isinstance(op, AppendTransition)
            # Like the SQL backend: the same row again (a retried write) is kept once.
            and (op.flow_uuid, op.seq) not in self._transition_keys
        ):
            self._transition_keys[(op.flow_uuid, op.seq)] = op.hash
            self.transitions.append(TransitionRow.of(op, len(self.transitions) + 1))

    def _delete(self, op: DeleteRow) -> None:
        if op.table == "atom_details":
            atom = self.atoms.pop(op.uuid, None)
            for owner in self.flows.values():
                if atom is not None and owner.atoms.get(atom.name) is atom:
                    del owner.atoms[atom.name]
        elif op.table == "flow_details":
            gone = self.flows.pop(op.uuid, None)
            if gone is not None and gone.logbook_uuid in self.logbooks:
                self.logbooks[gone.logbook_uuid].flows.pop(op.uuid, None)
        else:
            self.logbooks.pop(op.uuid, None)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def load_flow(self, flow_uuid: str) -> FlowDetail:
        with self._lock:
            flow = self.flows.get(flow_uuid)
            if flow is None:
                raise NotFound("no stored flow with uuid %r" % flow_uuid)
            return copy_value(flow)

    def load_logbook(self, logbook_uuid: str) -> LogBook:
        with self._lock:
            book = self.logbooks.get(logbook_uuid)
            if book is None:
                raise NotFound("no stored logbook with uuid %r" % logbook_uuid)
            return copy_value(book)

    def load_atom(self, atom_uuid: str) -> AtomDetail:
        with self._lock:
            try:
                return copy_value(self.atoms[atom_uuid])
            except KeyError:
                raise NotFound("no stored atom with uuid %r" % atom_uuid) from None

    def logbook_uuids(self) -> list[str]:
        with self._lock:
            return list(self.logbooks)

    def flows_with_trail(self, flow_uuids: list[str]) -> set[str]:
        """Which of ``flow_uuids`` have transitions rows."""
        wanted = set(flow_uuids)
        with self._lock:
            return {row.flow_uuid for row in self.transitions if row.flow_uuid in wanted}

    def load_transitions(self, flow_uuid: str) -> list[TransitionRow]:
        with self._lock:
            found = [row for row in self.transitions if row.flow_uuid == flow_uuid]
        return sorted(found, key=_seq)

    def last_transition(self, flow_uuid: str) -> tuple[int, str] | None:
        with self._lock:
            seqs = [(row.seq, row.hash) for row in self.transitions if row.flow_uuid == flow_uuid]
        return max(seqs) if seqs else None


def _seq(row: TransitionRow) -> int:
    return row.seq
