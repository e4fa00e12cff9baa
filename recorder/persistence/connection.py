"""TaskFlow's backend connection API (``backend.get_connection()``) on recorder's backends.

TaskFlow code saves and reads logbooks, flow details and atom details through a
connection; this is that API on top of recorder's op-based write path, for the
memory backend and the SQL backends alike. Every change is a list of ops (one
statement per row) handed to ``backend.write()`` as one write, so it is
committed whole or not at all. What differs from TaskFlow, on purpose:

* saving merges meta keys into the stored meta (``dict.update``): a key the
  caller removed stays stored; a logbook's meta is the one it was first saved with;
* atom names are unique within a flow (as recorder's engine needs): saving a
  second atom of the same name into a flow fails;
* a flow with an audit trail (rows in ``transitions``) is never deleted: the
  trail is append-only (on PostgreSQL a trigger rejects any change to it) and
  references the flow. ``destroy_logbook`` and ``clear_all`` refuse, deleting
  nothing, when any flow they would delete has a trail. The memory backend is a
  scratch store: its ``clear_all`` forgets everything, trails included.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any

from recorder.exceptions import NotFound, StorageError
from recorder.persistence.copying import copy_value
from recorder.persistence.models import AtomDetail, FlowDetail, LogBook, utcnow
from recorder.persistence.ops import (
    DeleteRow,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
)

# Atom fields a save writes besides what SaveAtom carries.
_RESULT_FIELDS = ("results", "failure", "revert_results", "revert_failure")


class Connection:
    """One connection to ``backend``; cheap, and closing it releases nothing shared."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        return None

    def validate(self) -> None:
        """Raise SchemaMismatch/DatabaseUnavailable when the backend cannot be used."""
        check = getattr(self.backend, "validate", None)
        if check is not None:
            check()

    def upgrade(self) -> None:
        """Create or migrate the schema to this recorder's head (nothing to do in memory)."""
        migrate = getattr(self.backend, "upgrade", None)
        if migrate is not None:
            migrate()

    # -- writing -----------------------------------------------------------------

    def save_logbook(self, book: LogBook) -> LogBook:
        """Store ``book`` with its flows and their atoms (new ones added, stored ones updated)."""
        try:
            stored = self.backend.load_logbook(book.uuid)
        except NotFound:
            stored = None
        ops: list[Op] = [SaveLogbook(book.uuid, book.name, copy_value(book.meta), book.created_at)]
        for flow in book:
            known = stored.find(flow.uuid) if stored is not None else None
            ops.extend(self._flow_ops(flow, book.uuid, known))
        self.backend.write(ops)
        return self.get_logbook(book.uuid)

    def update_flow_details(self, flow: FlowDetail, ignore_missing: bool = False) -> FlowDetail:
        """Store ``flow``'s state, meta and atoms; NotFound if the flow was never saved."""
        try:
            stored = self.backend.load_flow(flow.uuid)
        except NotFound:
            if ignore_missing:
                return flow
            raise NotFound("No flow details found with uuid %r" % flow.uuid) from None
        self.backend.write(self._flow_ops(flow, stored.logbook_uuid, stored))
        loaded: FlowDetail = self.backend.load_flow(flow.uuid)
        return loaded

    def update_atom_details(self, atom: AtomDetail) -> AtomDetail:
        """Store ``atom``'s fields and meta; NotFound if the atom was never saved."""
        self.get_atom_details(atom.uuid)
        self.backend.write([_update_atom(atom)])
        return self.get_atom_details(atom.uuid)

    def _flow_ops(
        self, flow: FlowDetail, logbook_uuid: str | None, stored: FlowDetail | None
    ) -> list[Op]:
        if logbook_uuid is None:
            raise NotFound("flow %r (%s) belongs to no logbook" % (flow.name, flow.uuid))
        meta = copy_value(flow.meta)
        ops: list[Op] = []
        if stored is None:
            ops.append(SaveFlow(flow.uuid, logbook_uuid, flow.name, flow.state, meta, _at(flow)))
        elif flow.state != stored.state or flow.meta != stored.meta:
            ops.append(UpdateFlow(flow.uuid, utcnow(), state=flow.state, meta_patch=meta or None))
        known = {atom.uuid for atom in stored} if stored is not None else set()
        for atom in flow:
            if atom.uuid in known:
                ops.append(_update_atom(atom))
                continue
            ops.append(
                SaveAtom(
                    atom.uuid,
                    flow.uuid,
                    atom.name,
                    atom.kind,
                    atom.state,
                    atom.intention,
                    atom.version,
                    copy_value(atom.meta),
                    _at(atom),
                )
            )
            results = {
                f: getattr(atom, f) for f in _RESULT_FIELDS if getattr(atom, f) not in (None, [])
            }
            if results or atom.attempt:
                ops.append(UpdateAtom(atom.uuid, utcnow(), {**results, "attempt": atom.attempt}))
        return ops

    def destroy_logbook(self, book_uuid: str) -> None:
        """Delete the logbook, its flows and their atoms (refused when a flow has a trail)."""
        book = self.backend.load_logbook(book_uuid)
        self._refuse_trails([flow.uuid for flow in book], "logbook %s" % book_uuid)
        self.backend.write(_delete_ops([book]))

    def clear_all(self) -> None:
        """Delete every logbook (refused, deleting nothing, when any flow has a trail)."""
        forget = getattr(self.backend, "forget_all", None)
        if forget is not None:  # the memory backend: a scratch store
            forget()
            return
        books = [self.backend.load_logbook(uuid) for uuid in self.backend.logbook_uuids()]
        self._refuse_trails([flow.uuid for book in books for flow in book], "clear_all")
        if books:
            self.backend.write(_delete_ops(books))

    def _refuse_trails(self, flow_uuids: list[str], what: str) -> None:
        recorded = sorted(self.backend.flows_with_trail(flow_uuids)) if flow_uuids else []
        if recorded:
            raise StorageError(
                "%s not deleted: %d flow(s) have an audit trail, which recorder keeps "
                "(transitions is append-only): %s"
                % (
                    what,
                    len(recorded),
                    ", ".join(recorded[:5]) + (" ..." if len(recorded) > 5 else ""),
                )
            )

    # -- reading -----------------------------------------------------------------

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        book: LogBook = self.backend.load_logbook(book_uuid)
        if lazy:
            book.flows = {}
        return book

    def get_logbooks(self, lazy: bool = False) -> Iterator[LogBook]:
        for uuid in self.backend.logbook_uuids():
            try:
                yield self.get_logbook(uuid, lazy=lazy)
            except NotFound:  # deleted meanwhile
                continue

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> Iterator[FlowDetail]:
        for flow in self.backend.load_logbook(book_uuid):
            if lazy:
                flow.atoms = {}
            yield flow

    def get_flow_details(self, flow_uuid: str, lazy: bool = False) -> FlowDetail:
        flow: FlowDetail = self.backend.load_flow(flow_uuid)
        if lazy:
            flow.atoms = {}
        return flow

    def get_atom_details(self, atom_uuid: str) -> AtomDetail:
        atom: AtomDetail = self.backend.load_atom(atom_uuid)
        return atom

    def get_atoms_for_flow(self, flow_uuid: str) -> Iterator[AtomDetail]:
        yield from self.backend.load_flow(flow_uuid)


def _at(record: Any) -> Any:
    return record.created_at or utcnow()


def _update_atom(atom: AtomDetail) -> UpdateAtom:
    changes = {
        "state": atom.state,
        "intention": atom.intention,
        "version": atom.version,
        "attempt": atom.attempt,
        **{field: copy_value(getattr(atom, field)) for field in _RESULT_FIELDS},
    }
    return UpdateAtom(atom.uuid, utcnow(), changes, copy_value(atom.meta) or None)


def _delete_ops(books: list[LogBook]) -> list[Op]:
    ops: list[Op] = []
    for book in books:
        for flow in book:
            ops.extend(DeleteRow("atom_details", atom.uuid) for atom in flow)
            ops.append(DeleteRow("flow_details", flow.uuid))
        ops.append(DeleteRow("logbooks", book.uuid))
    return ops
