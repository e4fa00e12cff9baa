"""The write path of a flow's storage: set-up, deferred batches, hooks, undo.

Every change storage makes goes to the backend through here. A change may be
*deferred*: inside :meth:`WritePath.deferred`, writes are gathered (the state
change, the audit rows transition hooks add, the meta listeners write on
hearing it) and handed to the backend as one write -- one transaction, never
split. A write that raises is undone in memory (each write comes with its
:class:`~recorder.undo.UndoLog`; the changes of a deferred block record theirs in
the block's one log) and the hooks' ``on_abort`` is called: an
engine run again then redoes exactly what was not stored, and a hook that
numbers rows re-reads where the stored numbering stands. The flow's own rows
(logbook, flow) are held back and go with the first write, so a flow is set up
in one commit.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from recorder.compiled import mypyc_attr
from recorder.persistence.base import Backend
from recorder.persistence.copying import copy_value
from recorder.persistence.ops import Op, UpdateAtom, UpdateFolder
from recorder.undo import UndoLog

if TYPE_CHECKING:
    from recorder.persistence.models import AtomDetail
    from recorder.storage import Storage


@mypyc_attr(native_class=False)  # (a frozen dataclass, set through its __dict__)
@dataclass(frozen=True, init=False)
class Transition:
    """One state change, as the engine made it (``timestamp`` is unix seconds)."""

    kind: str  # 'flow' | 'task' | 'retry'
    name: str
    atom_uuid: str | None
    old_state: str | None
    new_state: str
    timestamp: float
    attempt: int
    details: Mapping[str, Any]

    def __init__(
        self,
        kind: str,
        name: str,
        atom_uuid: str | None,
        old_state: str | None,
        new_state: str,
        timestamp: float,
        attempt: int,
        details: Mapping[str, Any],
    ) -> None:
        # (One per state change: see UpdateAtom's __init__.)
        self.__dict__.update(
            kind=kind,
            name=name,
            atom_uuid=atom_uuid,
            old_state=old_state,
            new_state=new_state,
            timestamp=timestamp,
            attempt=attempt,
            details=details,
        )

    @property
    def at(self) -> datetime:
        """``timestamp`` as an aware UTC datetime, made once: the state change's update
        and its trail row carry the same object (so its text is formatted once too)."""
        found: datetime | None = self.__dict__.get("_at")
        if found is None:
            found = self.__dict__["_at"] = to_datetime(self.timestamp)
        return found


TransitionHook = Callable[["Storage", Transition], Sequence[Op]]
AbortHook = Callable[[], None]


def to_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime: itself when it is one already (what the
    models make; one per atom a flow loads), else the same instant in UTC."""
    if type(value) is datetime and value.tzinfo is timezone.utc:
        return value
    return to_datetime(value.timestamp())


def change_time(timestamp: float, transition: Transition | None) -> datetime:
    """``timestamp`` as a datetime: the transition's own ``at`` when it is the same
    change (so its update and its trail row share one object, formatted once)."""
    if transition is not None and transition.timestamp == timestamp:
        return transition.at
    return to_datetime(timestamp)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


_SCALARS = (str, int, float, bool, type(None))


def own_copy(update_with: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a meta update the caller cannot change afterwards (deep, unless every
    value is a plain scalar, where a new dict is the same)."""
    patch = dict(update_with)
    for value in patch.values():
        if type(value) not in _SCALARS:
            return copy_value(patch)
    return patch


class _Block:
    """What a deferred block has gathered. Most blocks are one atom's state change:
    its update (fields, meta, time) and the rows hooks add, held as they are and
    made ops once, at the end. Anything else (a second row's update, other ops)
    goes to an :class:`UpdateFolder`, which the held update joins first, in its place."""

    __slots__ = ("also", "at", "changes", "folder", "patch", "uuid")

    def __init__(self) -> None:
        self.uuid: str | None = None  # the atom whose update is held (None: none held)
        self.at: datetime | None = None
        self.changes: dict[str, Any] = {}
        self.patch: dict[str, Any] | None = None
        self.also: Sequence[Op] = ()
        self.folder: UpdateFolder | None = None

    def hold(
        self,
        uuid: str,
        at: datetime,
        changes: dict[str, Any],
        patch: dict[str, Any] | None,
        also: Sequence[Op],
    ) -> None:
        """Gather an atom's update (and ``also``): held when it is the block's first
        write, else folded with the rest."""
        if self.uuid is None and self.folder is None:
            self.uuid, self.at, self.changes, self.patch, self.also = uuid, at, changes, patch, also
            return
        folder = self.to_folder()
        folder.update_atom(uuid, at, changes, patch)
        if also:
            folder.extend(also)

    def merge_meta(self, uuid: str, patch: dict[str, Any]) -> bool:
        """Merge ``patch`` (a new dict, handed over) into the gathered update of atom
        ``uuid``, keeping its time; False when none was gathered."""
        if self.uuid == uuid:
            held = self.patch
            if held is None:
                self.patch = patch
            else:
                held.update(patch)
            return True
        return self.folder is not None and self.folder.merge_atom_meta(uuid, patch)

    def to_folder(self) -> UpdateFolder:
        """The block's folder (made on first need, holding the held update first)."""
        folder = self.folder
        if folder is None:
            folder = self.folder = UpdateFolder()
            if self.uuid is not None:
                folder.update_atom(self.uuid, self.at, self.changes, self.patch)  # type: ignore[arg-type]
                if self.also:
                    folder.extend(self.also)
                self.uuid = None
        return folder

    def ops(self) -> list[Op]:
        if self.folder is not None:
            return self.folder.ops()
        if self.uuid is None:
            return []
        return [UpdateAtom(self.uuid, self.at, self.changes, self.patch), *self.also]  # type: ignore[arg-type]


class _Deferred:
    """The block of :meth:`WritePath.deferred`."""

    __slots__ = ("_outermost", "_path")

    def __init__(self, path: WritePath) -> None:
        self._path = path
        self._outermost = False

    def __enter__(self) -> None:
        """Start gathering writes, unless an outer block already is (this one joins it)."""
        path = self._path
        with path._lock:
            if path._deferred is None:
                path._deferred = _Block()
                self._outermost = True

    def __exit__(self, *exc_info: object) -> None:
        """The outermost block sends what it gathered, folded, as one write."""
        if not self._outermost:
            return
        path = self._path
        with path._lock:
            block, path._deferred = path._deferred, None
            undo, path._deferred_undo = path._deferred_undo, UndoLog()
        if path._backend is not None and block is not None:
            ops = block.ops()
            if ops or path._setup:
                path._send(ops, undo)


class WritePath:
    """Hands one flow's changes to its backend, whole, and undoes what was not stored."""

    def __init__(self, backend: Backend | None, lock: threading.RLock) -> None:
        self._backend = backend
        self._lock = lock
        self._deferred: _Block | None = None
        self._deferred_undo = UndoLog()
        self._hooks: list[TransitionHook] = []
        self._abort_hooks: list[tuple[TransitionHook, AbortHook]] = []
        self._setup: list[Op] = []

    def set_up(self, ops: list[Op]) -> None:
        """Ops that create the flow's rows: sent ahead of the first write."""
        self._setup = list(ops)

    def write(self, ops: Sequence[Op], undo: UndoLog | None = None) -> None:
        if self._backend is None or not ops:
            return
        with self._lock:
            if self._deferred is not None:
                self._deferred.to_folder().extend(ops)
                if undo is not None:
                    self._deferred_undo.extend(undo)
                return
        self._send(list(ops), undo or UndoLog())

    def change_atom(
        self,
        detail: AtomDetail,
        at: datetime,
        changes: dict[str, Any],
        patch: dict[str, Any] | None,
        also: Sequence[Op],
    ) -> None:
        """Set ``changes`` on ``detail``, merge ``patch`` into its meta and stamp it
        ``at`` -- in memory -- and write that with ``also`` as one write (``changes``
        and ``patch``: new dicts, handed over). In a deferred block (a state change)
        the update is folded into the block and its undo goes straight into the
        block's log: one log per state change, not one per change merged into it."""
        with self._lock:
            undo = self._deferred_undo if self._deferred is not None else UndoLog()
            undo.attrs(detail, [*changes, "updated_at"])
            for key, value in changes.items():
                setattr(detail, key, value)
            if patch:
                undo.keys(detail.meta, patch)
                detail.meta.update(patch)
            detail.updated_at = at
            if self._deferred is not None:
                self._deferred.hold(detail.uuid, at, changes, patch, also)
                return
        self._send([UpdateAtom(detail.uuid, at, changes, patch), *also], undo)

    def merge_atom_meta(self, detail: AtomDetail, patch: dict[str, Any]) -> None:
        """Merge ``patch`` (a new dict, handed over) into ``detail``'s meta, in memory,
        and write it, stamped now; in a deferred block that already updates the row (a
        listener writing on hearing its state change) the meta joins that update and
        keeps its time: the change and the meta are one write, made at the change."""
        with self._lock:
            deferred = self._deferred
            undo = self._deferred_undo if deferred is not None else UndoLog()
            undo.keys(detail.meta, patch)
            detail.meta.update(patch)
            if deferred is not None:
                if not deferred.merge_meta(detail.uuid, patch):
                    deferred.hold(detail.uuid, now_utc(), {}, patch, ())
                return
            at = now_utc()  # (stamped under the lock, in the order memory changed)
        self._send([UpdateAtom(detail.uuid, at, {}, patch)], undo)

    def _send(self, ops: list[Op], undo: UndoLog) -> None:
        """Hand ``ops`` (after any pending set-up) to the backend; undo all if it raises."""
        with self._lock:
            if self._setup:
                undo.attrs(self, ["_setup"])
                ops = [*self._setup, *ops]
                self._setup = []
        try:
            self._backend.write(ops)  # type: ignore[union-attr]
        except BaseException:
            with self._lock:
                undo.rollback()
            for _, on_abort in list(self._abort_hooks):
                on_abort()
            raise

    def deferred(self) -> contextlib.AbstractContextManager[None]:
        """Hold writes made in the block and hand them to the backend as one write.

        Updates of one row inside the batch are folded into one op first (the
        state change and the meta keys two listeners add become one UPDATE).
        Nested blocks join the outermost one. (A class, not a generator: the
        engine enters one per state change.)
        """
        return _Deferred(self)

    # -- transition hooks ------------------------------------------------------

    def add_hook(self, hook: TransitionHook, on_abort: AbortHook | None = None) -> None:
        self._hooks.append(hook)
        if on_abort is not None:
            self._abort_hooks.append((hook, on_abort))

    def remove_hook(self, hook: TransitionHook) -> None:
        if hook in self._hooks:
            self._hooks.remove(hook)
        self._abort_hooks = [pair for pair in self._abort_hooks if pair[0] is not hook]

    @property
    def wants_transitions(self) -> bool:
        return bool(self._hooks)

    def hook_ops(self, storage: Storage, transition: Transition | None) -> Sequence[Op]:
        hooks = self._hooks
        if transition is None or not hooks:
            return ()
        if len(hooks) == 1:  # (the engine's trail, on every state change)
            return hooks[0](storage, transition)
        ops: list[Op] = []
        for hook in list(hooks):
            ops.extend(hook(storage, transition))
        return ops
