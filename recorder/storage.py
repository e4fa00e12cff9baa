"""Storage: the engine's view of a flow's persisted state.

The running flow's state lives here, in memory, as plain records
(:mod:`recorder.persistence.models`); it is the truth while the engine runs and
is never read back from the database. Every change is also handed to the
backend as small write ops, so with a database backend the same facts land in
SQL (durably or in batches, as the backend was opened).

Two hooks make recording cheap and exact:

* transition hooks turn each state change into extra ops (e.g. an audit row)
  written in the *same* ``write()`` call as the change itself;
* ``deferred_writes()`` gathers a state change, its hook ops and the writes
  listeners make while hearing of it, and hands them to the backend as one batch.

Memory never runs ahead of storage for long: every change records how to undo
itself (:mod:`recorder.undo`), and when the write carrying it raises, memory is
put back and the hooks' ``on_abort`` is called, so an engine run again redoes
exactly what was not stored. The flow's own rows (logbook, flow) go with the
first write, so ``engines.load`` sets a flow up in one commit.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from recorder import states
from recorder.atom import Atom, ResultPointer
from recorder.exceptions import NotFound
from recorder.failure import Failure
from recorder.persistence.base import Backend
from recorder.persistence.copying import copy_value
from recorder.persistence.models import AtomDetail, FlowDetail, LogBook
from recorder.persistence.ops import (
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
)
from recorder.retry import History
from recorder.storage_writes import (
    AbortHook,
    Transition,
    TransitionHook,
    WritePath,
    to_datetime,
)
from recorder.undo import UndoLog

__all__ = [
    "STORE_META_KEY",
    "Storage",
    "Transition",
    "TransitionHook",
    "extract",
    "latest_retry_result",
    "to_datetime",
]

STORE_META_KEY = "store"
"""Flow meta key holding the values given to ``engines.load(store=...)``."""


def latest_retry_result(history: Any) -> Any:
    """A retry atom's result: the result of the newest of its ``(result, failures)``
    history entries; None before it ran."""
    return history[-1][0] if history else None


def extract(result: Any, pointer: ResultPointer) -> Any:
    """Read one provided symbol out of an atom's result."""
    if pointer is None:
        return result
    return result[pointer]


class Storage:
    """State of one flow run: in memory first, mirrored to a backend when given one."""

    def __init__(
        self,
        flow_detail: FlowDetail,
        backend: Backend | None = None,
        logbook: LogBook | None = None,
    ) -> None:
        self._flow = flow_detail
        self._backend = backend
        self._lock = threading.RLock()
        self._writes = WritePath(backend, self._lock)
        self._providers: dict[str, list[tuple[str, ResultPointer]]] = {}
        self._store: dict[str, Any] = dict(flow_detail.meta.get(STORE_META_KEY) or {})
        if backend is not None:
            now = to_datetime(flow_detail.created_at.timestamp())
            ops: list[Op] = []
            if logbook is not None:
                ops.append(SaveLogbook(logbook.uuid, logbook.name, dict(logbook.meta), now))
                flow_detail.logbook_uuid = logbook.uuid
            if flow_detail.logbook_uuid is None:
                book = LogBook(name=flow_detail.name)
                ops.append(SaveLogbook(book.uuid, book.name, {}, now))
                flow_detail.logbook_uuid = book.uuid
            ops.append(
                SaveFlow(
                    flow_detail.uuid,
                    flow_detail.logbook_uuid,
                    flow_detail.name,
                    flow_detail.state,
                    copy_value(flow_detail.meta),
                    now,
                )
            )
            self._writes.set_up(ops)

    # -- identity --------------------------------------------------------------

    @property
    def flow_detail(self) -> FlowDetail:
        return self._flow

    @property
    def flow_name(self) -> str:
        return self._flow.name

    @property
    def flow_uuid(self) -> str:
        return self._flow.uuid

    @property
    def backend(self) -> Backend | None:
        return self._backend

    # -- the write path ------------------------------------------------------

    def _write(self, ops: Sequence[Op], undo: UndoLog | None = None) -> None:
        self._writes.write(ops, undo)

    def deferred_writes(self) -> contextlib.AbstractContextManager[None]:
        """Hold writes made in the block and hand them to the backend as one batch
        (see :meth:`recorder.storage_writes.WritePath.deferred`)."""
        return self._writes.deferred()

    def add_transition_hook(self, hook: TransitionHook, on_abort: AbortHook | None = None) -> None:
        """Call ``hook`` on every state change; its ops are written with the change.

        ``on_abort`` is called when a write fails (its ops, the hook's among them,
        may not be stored), e.g. so the hook re-reads where its numbering stands.
        """
        self._writes.add_hook(hook, on_abort)

    def remove_transition_hook(self, hook: TransitionHook) -> None:
        self._writes.remove_hook(hook)

    @property
    def wants_transitions(self) -> bool:
        """Whether any transition hook is registered (else the engine skips building them)."""
        return self._writes.wants_transitions

    def _hook_ops(self, transition: Transition | None) -> list[Op]:
        return self._writes.hook_ops(self, transition)

    # -- atoms ---------------------------------------------------------------

    def ensure_atom(self, atom: Atom) -> AtomDetail:
        """The stored detail of ``atom`` (matched by name), created when new."""
        for symbol, pointer in atom.save_as.items():
            self._providers.setdefault(symbol, []).append((atom.name, pointer))
        detail = self._flow.atoms.get(atom.name)
        if detail is not None:
            return detail
        detail = AtomDetail(
            name=atom.name,
            kind=atom.kind,
            state=states.PENDING,
            intention=states.EXECUTE,
            version=str(atom.version),
            results=[] if atom.kind == states.KIND_RETRY else None,
        )
        self._flow.add(detail)
        if self._backend is not None:
            undo = UndoLog()
            undo.keys(self._flow.atoms, [detail.name])
            self._write(
                [
                    SaveAtom(
                        detail.uuid,
                        self._flow.uuid,
                        detail.name,
                        detail.kind,
                        detail.state,
                        detail.intention,
                        detail.version,
                        {},
                        to_datetime(detail.created_at.timestamp()),
                    )
                ],
                undo,
            )
        return detail

    def atom_detail(self, name: str) -> AtomDetail:
        detail = self._flow.atoms.get(name)
        if detail is None:
            raise NotFound("flow %r has no atom named %r" % (self._flow.name, name))
        return detail

    def change_atom(
        self,
        detail: AtomDetail,
        timestamp: float,
        changes: Mapping[str, Any],
        transition: Transition | None = None,
    ) -> None:
        """Apply ``changes`` (atom detail fields) and write them, with hook ops, at once."""
        if self._backend is None:
            for key, value in changes.items():
                setattr(detail, key, value)
            return
        hooked = self._hook_ops(transition)  # before changing memory: a hook may raise
        undo = UndoLog()
        undo.attrs(detail, [*changes, "updated_at"])
        for key, value in changes.items():
            setattr(detail, key, value)
        at = to_datetime(timestamp)
        detail.updated_at = at
        self._write([UpdateAtom(detail.uuid, at, dict(changes)), *hooked], undo)

    def get_atom_state(self, name: str) -> str | None:
        return self.atom_detail(name).state

    def get_atom_intention(self, name: str) -> str:
        return self.atom_detail(name).intention

    def get_atom_uuid(self, name: str) -> str:
        return self.atom_detail(name).uuid

    def get_atom_meta(self, name: str) -> dict[str, Any]:
        with self._lock:
            return copy_value(self.atom_detail(name).meta)

    def atom_meta_value(self, name: str, key: str, default: Any = None) -> Any:
        """One key of the atom's meta, not copied: read it, do not change it."""
        return self.atom_detail(name).meta.get(key, default)

    def flow_meta_value(self, key: str, default: Any = None) -> Any:
        """One key of the flow's meta, not copied: read it, do not change it."""
        return self._flow.meta.get(key, default)

    def update_atom_metadata(self, name: str, update_with: Mapping[str, Any]) -> None:
        """Merge ``update_with`` into the atom's meta (top-level keys, like dict.update)."""
        if not update_with:
            return
        detail = self.atom_detail(name)
        patch = copy_value(dict(update_with))
        undo = UndoLog()
        with self._lock:
            undo.keys(detail.meta, patch)
            detail.meta.update(patch)
        if self._backend is not None:
            self._write([UpdateAtom(detail.uuid, _now(), {}, patch)], undo)

    def get(self, name: str) -> Any:
        """The result of atom ``name`` (NotFound when it has none yet)."""
        detail = self.atom_detail(name)
        if detail.failure is not None:
            return detail.failure
        if detail.state not in (states.SUCCESS, states.REVERTING, states.RETRYING):
            raise NotFound("atom %r has no result (state %s)" % (name, detail.state))
        if detail.kind == states.KIND_RETRY:
            history = detail.results or []
            if not history:
                raise NotFound("retry %r has not run yet" % name)
            return latest_retry_result(history)
        return detail.results

    def get_revert_result(self, name: str) -> Any:
        detail = self.atom_detail(name)
        return detail.revert_failure if detail.revert_failure is not None else detail.revert_results

    def get_retry_history(self, name: str) -> History:
        detail = self.atom_detail(name)
        return History([(result, failures) for result, failures in (detail.results or [])])

    def get_failures(self) -> dict[str, Failure]:
        """Atom name to the failure of every atom whose execute failed."""
        return {
            detail.name: detail.failure
            for detail in self._flow.atoms.values()
            if isinstance(detail.failure, Failure)
        }

    # -- the flow ------------------------------------------------------------

    def get_flow_state(self) -> str | None:
        return self._flow.state

    def set_flow_state(
        self, state: str, timestamp: float, transition: Transition | None = None
    ) -> None:
        if self._backend is None:
            self._flow.state = state
            return
        hooked = self._hook_ops(transition)  # before changing memory: a hook may raise
        undo = UndoLog()
        undo.attrs(self._flow, ["state", "updated_at"])
        self._flow.state = state
        at = to_datetime(timestamp)
        self._flow.updated_at = at
        self._write([UpdateFlow(self._flow.uuid, at, state=state), *hooked], undo)

    @property
    def flow_meta(self) -> dict[str, Any]:
        with self._lock:
            return copy_value(self._flow.meta)

    def update_flow_metadata(self, update_with: Mapping[str, Any]) -> None:
        """Merge ``update_with`` into the flow's meta (top-level keys, like dict.update)."""
        if update_with:
            self._update_flow_meta(update_with, UndoLog())

    def _update_flow_meta(self, update_with: Mapping[str, Any], undo: UndoLog) -> None:
        patch = copy_value(dict(update_with))
        with self._lock:
            undo.keys(self._flow.meta, patch)
            self._flow.meta.update(patch)
        if self._backend is not None:
            self._write([UpdateFlow(self._flow.uuid, _now(), meta_patch=patch)], undo)

    # -- symbols ------------------------------------------------------------

    def inject(self, pairs: Mapping[str, Any]) -> None:
        """Add flow-level values (``store=``); they are persisted and survive resumption."""
        if not pairs:
            return
        undo = UndoLog()
        undo.keys(self._store, pairs)
        self._store.update(pairs)
        self._update_flow_meta({STORE_META_KEY: dict(self._store)}, undo)

    @property
    def store(self) -> Mapping[str, Any]:
        """The flow-level values, read-only (a view, not a copy: read per atom run)."""
        return MappingProxyType(self._store)

    def fetch(self, name: str) -> Any:
        """The value of symbol ``name``: the latest provider's result, else the store."""
        for atom_name, pointer in reversed(self._providers.get(name, [])):
            try:
                result = self.get(atom_name)
            except NotFound:
                continue
            if not isinstance(result, Failure):
                return extract(result, pointer)
        if name in self._store:
            return self._store[name]
        raise NotFound("symbol %r is not provided yet by any atom or the store" % name)

    def fetch_all(self) -> dict[str, Any]:
        """Every symbol with a value (an atom's result wins over the store)."""
        names = set(self._store) | set(self._providers)
        found: dict[str, Any] = {}
        for name in sorted(names):
            try:
                found[name] = self.fetch(name)
            except NotFound:
                continue
        return found

    def fetch_mapped_args(self, args_mapping: Mapping[str, str]) -> dict[str, Any]:
        """Argument name to value, for an atom's ``rebind`` mapping (missing ones left out)."""
        found: dict[str, Any] = {}
        for arg, symbol in args_mapping.items():
            try:
                found[arg] = self.fetch(symbol)
            except NotFound:
                continue
        return found


def _now() -> datetime:
    return datetime.now(timezone.utc)
