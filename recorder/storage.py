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
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from recorder import states
from recorder.atom import Atom, ResultPointer
from recorder.compiled import mypyc_attr
from recorder.exceptions import Duplicate, NotFound
from recorder.persistence.base import Backend
from recorder.persistence.copying import copy_value
from recorder.persistence.models import (
    RETRY,
    AtomDetail,
    FlowDetail,
    LogBook,
    RetryDetail,
    TaskDetail,
)
from recorder.persistence.ops import (
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateFlow,
)
from recorder.storage_api import StorageAPI, _version_string
from recorder.storage_fetch import ScopeWalker
from recorder.storage_writes import (
    AbortHook,
    Transition,
    TransitionHook,
    WritePath,
    as_utc,
    change_time,
    now_utc,
    own_copy,
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


@mypyc_attr(native_class=False)  # (a StorageAPI; its methods are patched in tests)
class Storage(StorageAPI):
    """State of one flow run: in memory first, mirrored to a backend when given one.

    ``scope_fetcher(atom_name)`` (TaskFlow's) gives the scope walker that
    ``fetch_mapped_args`` uses to pick the nearest provider of a name.
    """

    def __init__(
        self,
        flow_detail: FlowDetail,
        backend: Backend | None = None,
        scope_fetcher: Callable[[str], ScopeWalker | None] | None = None,
        logbook: LogBook | None = None,
    ) -> None:
        self._flow = flow_detail
        self._scope_fetcher = scope_fetcher or (lambda _name: None)
        self._transients: dict[str, Any] = {}
        self._injected_args: dict[str, dict[str, Any]] = {}
        self._backend = backend
        self._lock = threading.RLock()
        self._writes = WritePath(backend, self._lock)
        self._providers: dict[str, list[tuple[str, ResultPointer]]] = {}
        self._store: dict[str, Any] = dict(flow_detail.meta.get(STORE_META_KEY) or {})
        if backend is not None:
            now = as_utc(flow_detail.created_at)
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

    def _hook_ops(self, transition: Transition | None) -> Sequence[Op]:
        return self._writes.hook_ops(self, transition)

    # -- atoms ---------------------------------------------------------------

    def ensure_atom(self, atom: Atom) -> str:
        """The uuid of ``atom``'s stored detail (matched by name), created when new.

        Duplicate when the flow already has an atom of that name of another kind.
        """
        with self._lock:
            return self._ensure_atom(atom)

    def _ensure_atom(self, atom: Atom) -> str:
        detail = self._flow.atoms.get(atom.name)
        if detail is not None and detail.kind != atom.kind:
            raise Duplicate(
                "Atom detail %r already exists in flow detail %r" % (atom.name, self._flow.name)
            )
        for symbol, pointer in atom.save_as.items():
            entries = self._providers.setdefault(symbol, [])
            if (atom.name, pointer) not in entries:
                entries.append((atom.name, pointer))
        if detail is not None:
            return detail.uuid
        version = atom.version
        retry = atom.kind == RETRY
        detail = (RetryDetail if retry else TaskDetail)(
            name=atom.name,
            kind=atom.kind,
            state=states.PENDING,
            intention=states.EXECUTE,
            version=version if type(version) is str else _version_string(version),
            results=[] if retry else None,
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
                        as_utc(detail.created_at),
                    )
                ],
                undo,
            )
        return detail.uuid

    def atom_detail(self, name: str) -> AtomDetail:
        detail = self._flow.atoms.get(name)
        if detail is None:
            raise NotFound("Unknown atom name %r (flow %r)" % (name, self._flow.name))
        return detail

    def change_atom(
        self,
        detail: AtomDetail,
        timestamp: float,
        changes: Mapping[str, Any],
        transition: Transition | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply ``changes`` (atom detail fields) and merge ``meta`` (top-level keys of
        plain values), and write them, with hook ops, at once."""
        if self._backend is None:
            for key, value in changes.items():
                setattr(detail, key, value)
            if meta:
                with self._lock:
                    detail.meta.update(meta)
            return
        hooked = self._hook_ops(transition)  # before changing memory: a hook may raise
        at = change_time(timestamp, transition)
        self._writes.change_atom(detail, at, dict(changes), dict(meta) if meta else None, hooked)

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

    def update_atom_metadata(
        self, name: str, update_with: Mapping[str, Any], *, handed_over: bool = False
    ) -> None:
        """Merge ``update_with`` into the atom's meta (top-level keys, like dict.update).

        ``handed_over``: ``update_with`` is a new dict of new values, built for this
        call, that the caller never touches again (the timing listeners'), so it is
        used as it is: no copy.
        """
        if not update_with:
            return
        detail = self.atom_detail(name)
        patch = update_with if handed_over and type(update_with) is dict else None
        if patch is None:
            patch = own_copy(update_with)
        if self._backend is None:
            with self._lock:
                detail.meta.update(patch)
            return
        self._writes.merge_atom_meta(detail, patch)

    # -- the flow ------------------------------------------------------------

    def get_flow_state(self) -> str:
        """The flow's state; a flow detail without one is PENDING."""
        return self._flow.state or states.PENDING

    def set_flow_state(
        self, state: str, timestamp: float | None = None, transition: Transition | None = None
    ) -> None:
        if timestamp is None:
            timestamp = now_utc().timestamp()
        if self._backend is None:
            self._flow.state = state
            return
        hooked = self._hook_ops(transition)  # before changing memory: a hook may raise
        undo = UndoLog()
        undo.attrs(self._flow, ["state", "updated_at"])
        self._flow.state = state
        at = change_time(timestamp, transition)
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
        patch = own_copy(update_with)
        with self._lock:
            undo.keys(self._flow.meta, patch)
            self._flow.meta.update(patch)
        if self._backend is not None:
            self._write([UpdateFlow(self._flow.uuid, now_utc(), meta_patch=patch)], undo)

    # -- symbols ------------------------------------------------------------

    def inject(self, pairs: Mapping[str, Any] | Any, transient: bool = False) -> None:
        """Add flow-level values (``store=``; a mapping or ``(name, value)`` pairs).

        They are persisted and survive resumption; ``transient=True`` keeps them
        in memory only (for values that cannot or should not be stored).
        """
        pairs = dict(pairs)
        if not pairs:
            return
        with self._lock:
            if transient:
                self._transients.update(pairs)
                return
            undo = UndoLog()
            undo.keys(self._store, pairs)
            self._store.update(pairs)
            self._update_flow_meta({STORE_META_KEY: dict(self._store)}, undo)

    def replace_store(self, values: Mapping[str, Any]) -> None:
        """Make the persisted flow-level values exactly ``values`` (TaskFlow does this
        by saving its injector atom's result)."""
        values = dict(values)
        with self._lock:
            undo = UndoLog()
            undo.keys(self._store, [*self._store, *values])
            self._store.clear()
            self._store.update(values)
            self._update_flow_meta({STORE_META_KEY: dict(self._store)}, undo)

    @property
    def store(self) -> Mapping[str, Any]:
        """The flow-level values, read-only (a view, not a copy: read per atom run)."""
        return MappingProxyType(self._store)
