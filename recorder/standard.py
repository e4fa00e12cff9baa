"""``recorder.record(engine)``: attach the standard recording set in one line.

::

    with recorder.record(engine):
        engine.run()

attaches a :class:`~recorder.listeners.timing.DurationListener` (``duration``
meta), an :class:`~recorder.listeners.timing.EventTimeListener`
(``<STATE>-timestamp`` meta) and, when the engine has a backend, a
:class:`~recorder.audit.trail.TransitionRecorder` (the hash-chained
transitions rows, which hold every attempt: the timing listeners then skip
their meta history lists). An engine without a backend keeps nothing beyond the
run, so there is no transitions trail to write: ``transitions`` is then None,
and the timing listeners keep the history lists (``durations``,
``<STATE>-timestamps``) in meta instead.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from recorder.audit.trail import TransitionRecorder
from recorder.listeners.timing import DurationListener, EventTimeListener

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine


class _Attachable(Protocol):
    def register(self) -> None: ...

    def deregister(self) -> None: ...


class Recording:
    """The standard listeners for one engine; a context manager (or register/deregister)."""

    def __init__(self, engine: ActionEngine) -> None:
        self.engine = engine
        recorded = engine.storage.backend is not None
        # With a transitions trail the per-attempt history is in its rows; the
        # timing listeners then write only TaskFlow's "latest" meta keys.
        self.durations = DurationListener(engine, keep_history=not recorded)
        self.event_times = EventTimeListener(engine, keep_history=not recorded)
        self.transitions: TransitionRecorder | None = (
            TransitionRecorder(engine) if recorded else None
        )
        self._parts: list[_Attachable] = [self.durations, self.event_times]
        if self.transitions is not None:
            self._parts.append(self.transitions)

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
