"""TransitionRecorder: every state change as an append-only, hash-chained row.

It is not a notifier callback: it is a storage *transition hook*, so each state
change's :class:`~recorder.persistence.ops.AppendTransition` is handed to the
backend in the same ``write()`` as the state change itself. A durable backend
therefore never holds a state without its audit row, and a listener that
raises cannot make a row go missing.

Row fields (the ``transitions`` table): ``flow_uuid``; ``atom_uuid`` (None for
the flow); ``kind`` ('flow', 'task' or 'retry'); ``name``; ``old_state``;
``new_state``; ``at`` (the engine's timestamp of the change, aware UTC, in
microseconds); ``seq`` (1, 2, ... per flow, no gaps); ``attempt`` (the atom's
execution attempt, 0 for the flow); ``details`` (small JSON, see
:func:`summarize`); ``prev_hash``/``hash`` (the chain, see :mod:`recorder.audit.chain`).

A resumed flow continues its sequence and chain from the backend's newest row
(read, after a flush, when the recorder is registered). The first row a recorder
writes for a flow whose meta does not say so yet also sets the flow's
``transitions_trail`` meta key, in the same write: a trail deleted whole later
is then still told apart from a flow that was never recorded
(:mod:`recorder.audit.consistency`). One recorder per
running flow: a second one would number the same rows twice, so it is refused;
:func:`recorder_for` finds the one a storage has (``engines.load`` attaches one
to every engine it loads with a backend, unless given ``trail=False``).
"""

from __future__ import annotations

import reprlib
import threading
import weakref
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.audit.chain import GENESIS_HASH, fields_hash
from recorder.compiled import mypyc_attr
from recorder.exceptions import InvalidArgument
from recorder.failure import Failure
from recorder.naming import qualified_name, type_name
from recorder.persistence.encoding import storable_text
from recorder.persistence.ops import AppendTransition, Op, UpdateFlow
from recorder.persistence.rows import TRAIL_META_KEY
from recorder.storage import Storage, Transition

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine

MAX_SUMMARY = 200
"""Longest ``repr``/``message`` kept in a row's details, in characters."""

_REPR = reprlib.Repr()
_REPR.maxstring = MAX_SUMMARY
_REPR.maxother = MAX_SUMMARY
_REPR.maxlevel = 3

# Storage -> the recorder attached to it. Weak both ways: a finished engine is not
# kept alive, and the recorder (which holds its storage) lives as long as its hook.
_ACTIVE: weakref.WeakKeyDictionary[Storage, weakref.ref[TransitionRecorder]] = (
    weakref.WeakKeyDictionary()
)
_ACTIVE_LOCK = threading.Lock()


def recorder_for(storage: Storage) -> TransitionRecorder | None:
    """The TransitionRecorder registered on ``storage`` (e.g. an engine's default trail), if any."""
    with _ACTIVE_LOCK:
        return _registered_on(storage)


def _registered_on(storage: Storage) -> TransitionRecorder | None:
    ref = _ACTIVE.get(storage)  # the caller holds _ACTIVE_LOCK
    found = ref() if ref is not None else None
    return found if found is not None and found.registered else None


def _short(text: str) -> str:
    text = storable_text(text)
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 3] + "..."


# Results whose repr is short ASCII text, given whole: bools, floats, None and ints of
# up to 39 digits (reprlib's ``maxlong`` is 40 characters). Most results are one of
# them, and reprlib's dispatch costs more than the repr itself, so :func:`summarize`
# writes theirs without it: their type's name, their repr.
_SCALAR_TEXTS: dict[type, Callable[[Any], str]] = {
    bool: bool.__repr__,
    float: float.__repr__,
    type(None): repr,
    int: int.__repr__,
}
_SHORT_INT_BITS = 128  # (2**128 has 39 digits)
_SCALAR_TYPE_TEXTS = {kind: qualified_name(kind) for kind in _SCALAR_TEXTS}


def _safe_repr(value: Any) -> str:
    """reprlib's repr of ``value`` (a str whose repr fits ``maxstring`` without it)."""
    try:
        if type(value) is str and len(value) <= _REPR.maxstring:  # (never a long text's repr)
            text = str.__repr__(value)
            if len(text) <= _REPR.maxstring:
                return text
        return _REPR.repr(value)
    except Exception as exc:  # a broken __repr__ must not break recording
        return "<%s object, repr() failed: %s>" % (type_name(value), type_name(exc))


def summarize(transition: Transition) -> dict[str, Any]:
    """The small JSON a row keeps about a result: never the whole result.

    ``{'result': {'type', 'repr'}}`` for a result, ``{'failure': {'type',
    'message'}}`` for a Failure (its most specific exception type name), ``{}``
    for states that carry no result, ``{'resumed': True}`` for the start of an
    atom that runs again after a crash. Texts are cut at :data:`MAX_SUMMARY`.
    """
    details = transition.details
    if details.get("resumed"):
        return {"resumed": True}
    if transition.new_state not in states.RESULT_STATES or "result" not in details:
        return {}
    result = details["result"]
    kind = type(result)
    scalar = _SCALAR_TYPE_TEXTS.get(kind)
    if scalar is not None and (kind is not int or result.bit_length() <= _SHORT_INT_BITS):
        # A plain scalar's repr is short ASCII text: nothing to cut or escape.
        return {"result": {"type": scalar, "repr": _SCALAR_TEXTS[kind](result)}}
    if isinstance(result, Failure):
        names = result.exception_type_names
        return {
            "failure": {
                "type": _short(names[0] if names else "?"),
                "message": _short(result.exception_str),
            }
        }
    return {"result": {"type": _short(type_name(result)), "repr": _short(_safe_repr(result))}}


@mypyc_attr(native_class=False)  # (weakly referenced: see _ACTIVE)
class TransitionRecorder:
    """Writes one hash-chained transitions row per state change of ``engine``'s flow.

    Needs an engine loaded with a backend (``engines.load(flow, backend=...)``):
    without one there is nowhere to write and :meth:`register` refuses.
    ``engines.load`` registers one on every engine it loads with a backend
    (unless ``trail=False``); build your own only for an engine without one.
    """

    def __init__(self, engine: ActionEngine) -> None:
        self._engine = engine
        self._storage = engine.storage
        self._lock = threading.Lock()
        self._seq = 0
        self._head = GENESIS_HASH
        self._registered = False
        self._stale = False  # a write failed: re-read the stored head before the next row
        self._mark_trail = False

    @property
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest row this recorder produced (or continued from)."""
        with self._lock:
            return self._seq, self._head

    @property
    def registered(self) -> bool:
        return self._registered

    def register(self) -> None:
        """Start recording, continuing the flow's chain from the backend's newest row."""
        storage = self._storage
        backend = storage.backend
        if backend is None:
            raise InvalidArgument(
                "TransitionRecorder needs an engine with a backend, e.g. "
                "engines.load(flow, backend=MemoryBackend()) or a database URL"
            )
        with _ACTIVE_LOCK:
            if self._registered:
                return
            if _registered_on(storage) is not None:
                raise InvalidArgument(
                    "flow %r (%s) already has a TransitionRecorder; two would number "
                    "the same transitions twice" % (storage.flow_name, storage.flow_uuid)
                )
            backend.flush()
            last = backend.last_transition(storage.flow_uuid)
            with self._lock:
                self._seq, self._head = last if last is not None else (0, GENESIS_HASH)
                self._mark_trail = storage.flow_meta_value(TRAIL_META_KEY) is not True
            storage.add_transition_hook(self._hook, self._write_failed)
            _ACTIVE[storage] = weakref.ref(self)
            self._registered = True

    def deregister(self) -> None:
        """Stop recording (a no-op when not registered)."""
        with _ACTIVE_LOCK:
            if not self._registered:
                return
            self._storage.remove_transition_hook(self._hook)
            if _registered_on(self._storage) is self:
                del _ACTIVE[self._storage]
            self._registered = False

    def __enter__(self) -> TransitionRecorder:
        self.register()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.deregister()

    def _hook(self, storage: Storage, transition: Transition) -> Sequence[Op]:
        flow_uuid = storage.flow_uuid
        at = transition.at
        attempt = int(transition.attempt)
        details = summarize(transition)
        # Number and chain under the lock, so rows from any thread stay gap-free.
        with self._lock:
            if self._stale:
                self._resync()
            seq = self._seq + 1
            facts = (
                flow_uuid,
                transition.atom_uuid,
                transition.kind,
                transition.name,
                transition.old_state,
                transition.new_state,
                at,
                seq,
                attempt,
                details,
                self._head,
            )  # the hashed fields, in AppendTransition's order (hash last)
            digest = fields_hash(*facts)
            self._seq, self._head = seq, digest
            mark, self._mark_trail = self._mark_trail, False
        row = AppendTransition(*facts, digest)
        if not mark:
            return (row,)
        # Committed with the row: a trail's existence is on record with it.
        return (row, UpdateFlow(flow_uuid, at, meta_patch={TRAIL_META_KEY: True}))

    def _write_failed(self) -> None:
        """A write failed: its rows may or may not be stored, so do not number past them."""
        with self._lock:
            self._stale = True

    def _resync(self) -> None:
        """Continue from the newest stored row (the head moves only with a commit)."""
        backend = self._storage.backend
        if backend is None:  # register() refuses an engine without one
            return
        last = backend.last_transition(self._storage.flow_uuid)
        self._seq, self._head = last if last is not None else (0, GENESIS_HASH)
        self._stale = False
        self._mark_trail = True  # the failed write may have carried the mark: send it again
