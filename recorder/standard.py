"""``recorder.record(engine)``: attach the standard recording set in one line.

::

    with recorder.record(engine):
        engine.run()

attaches the timing listeners: a :class:`~recorder.listeners.timing.DurationListener`
(``duration`` meta) and an :class:`~recorder.listeners.timing.EventTimeListener`
(``<STATE>-timestamp`` meta). The hash-chained transitions rows need no call:
``engines.load`` with a backend attaches a
:class:`~recorder.audit.trail.TransitionRecorder` by default, and ``record()``
uses that one (``transitions``); deregistering the recording leaves it attached.
Only for an engine with a backend but no recorder yet (one built without
``engines.load``, or whose recorder was deregistered) does ``record()`` attach
its own, for the time it is registered. The trail holds every attempt, so the
timing listeners then skip their meta history lists.

Without a trail -- an engine without a backend keeps nothing beyond the run, or
one loaded with ``trail=False`` -- ``transitions`` is None and the timing
listeners keep the history lists (``durations``, ``<STATE>-timestamps``) in meta
instead, from which ``recorder timeline`` can rebuild the attempts.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from recorder.audit.trail import TransitionRecorder, recorder_for
from recorder.listeners.timing import DurationListener, EventTimeListener
from recorder.persistence.rows import TRAIL_META_KEY

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine


class _Attachable(Protocol):
    def register(self) -> None: ...

    def deregister(self) -> None: ...


class Recording:
    """The standard listeners for one engine; a context manager (or register/deregister)."""

    def __init__(self, engine: ActionEngine) -> None:
        self.engine = engine
        storage = engine.storage
        existing = recorder_for(storage)
        own: TransitionRecorder | None = None
        if (
            existing is None
            and storage.backend is not None
            and storage.flow_meta_value(TRAIL_META_KEY) is not False  # not opted out
        ):
            own = TransitionRecorder(engine)
        #: The recorder writing this engine's trail (the engine's own default
        #: one, or one this recording attaches), None when there is no trail.
        self.transitions: TransitionRecorder | None = existing or own
        recorded = self.transitions is not None
        # With a transitions trail the per-attempt history is in its rows; the
        # timing listeners then write only TaskFlow's "latest" meta keys.
        self.durations = DurationListener(engine, keep_history=not recorded)
        self.event_times = EventTimeListener(engine, keep_history=not recorded)
        self._parts: list[_Attachable] = [self.durations, self.event_times]
        if own is not None:
            self._parts.append(own)

    def register(self) -> None:
        """Attach everything; if one part fails, detach the parts already attached."""
        done: list[_Attachable] = []
        try:
            for part in self._parts:
                part.register()
                done.append(part)
        except BaseException:
            for part in reversed(done):
                part.deregister()
            raise

    def deregister(self) -> None:
        """Detach everything, newest first; every part is detached even if one fails."""
        errors: list[BaseException] = []
        for part in reversed(self._parts):
            try:
                part.deregister()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Recording:
        self.register()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.deregister()


def record(engine: ActionEngine) -> Recording:
    """The standard recording set for ``engine``, ready for ``with``."""
    return Recording(engine)
