"""Timing listeners: how long atoms and flows took, and when each event happened.

Times are the engine's: each event's ``details['timestamp']`` (unix seconds,
taken when the state changed), never the moment a listener happens to run, so
a slow listener or a storage write before it does not skew them.

Meta keys (TaskFlow's keep TaskFlow's meaning, "the latest"; the lists are
recorder's additions, so nothing an earlier attempt measured is lost):

``duration``
    seconds of the latest finished phase (execute or revert), as in TaskFlow.
``durations``
    every finished phase, oldest first: ``{'attempt', 'phase' ('execute' or
    'revert'), 'started', 'finished' (unix seconds), 'duration', 'state'}``
    where ``state`` is the state that ended it. A flow's ``attempt`` counts its
    runs; a suspended run is kept too (``state`` SUSPENDED; ``duration`` is not
    touched), and its resumption starts the next attempt.
``<STATE>-timestamp``
    when the atom or flow last entered ``STATE``, as in TaskFlow.
``<STATE>-timestamps``
    every time it entered ``STATE``, oldest first.

``keep_history=False`` writes only TaskFlow's keys: :func:`recorder.record` does
that when it also attaches the transitions recorder, whose rows already hold
every attempt and every state entered (see the ``atom_attempts`` view), so the
history is not written twice.

Unlike TaskFlow these listeners also time retry atoms. Storage errors are not
swallowed: they reach the notifier, which logs and counts them
(``engine.notifier.failure_count``), so a missing measurement never goes unseen.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from recorder import states
from recorder.compiled import mypyc_attr
from recorder.listeners.base import DEFAULT_LISTEN_FOR, FLOW, RETRY, TASK, Details, Listener

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine

LOG = logging.getLogger(__name__)

STARTING_STATES = frozenset((states.RUNNING, states.REVERTING))
FINISHED_STATES = frozenset(states.RESULT_STATES)
WATCH_STATES = frozenset(itertools.chain(FINISHED_STATES, STARTING_STATES, [states.PENDING]))
# A suspended flow run ends a timed segment, but TaskFlow's 'duration' ignores it.
PAUSED_STATES = frozenset((states.SUSPENDED,))
FLOW_WATCH_STATES = WATCH_STATES | PAUSED_STATES

DURATION_KEY = "duration"
DURATIONS_KEY = "durations"
# Each state's key, made once: one is written per state change.
_TIMESTAMP_KEYS = {
    state: "%s-timestamp" % state for state in states.FLOW_STATES | states.RETRY_STATES
}
EXECUTE_PHASE = "execute"
REVERT_PHASE = "revert"


def timestamp_key(state: str) -> str:
    """TaskFlow's meta key for the latest time ``state`` was entered."""
    found = _TIMESTAMP_KEYS.get(state)
    return found if found is not None else "%s-timestamp" % state


def timestamps_key(state: str) -> str:
    """recorder's meta key for every time ``state`` was entered."""
    return "%s-timestamps" % state


def event_time(details: Details) -> float:
    """The engine's timestamp of an event (now, for engines that send none)."""
    stamp = details.get("timestamp")
    return float(stamp) if stamp is not None else time.time()


def _printer(message: str) -> None:
    print(message)


class _Timer(NamedTuple):
    """A started execute or revert (a tuple: one is made per state change)."""

    started: float
    phase: str
    attempt: int | None


@mypyc_attr(native_class=False)  # (a Listener: plain Python classes)
class _MetaWriter(Listener):
    """Reads and merges the meta of the atom or flow an event is about."""

    def _meta_value(self, kind: str, name: str, key: str) -> Any:
        """One meta key, not copied (copy before changing it)."""
        storage = self._engine.storage
        if kind == FLOW:
            return storage.flow_meta_value(key)
        return storage.atom_meta_value(name, key)

    def _update(self, kind: str, name: str, update: dict[str, Any]) -> None:
        """Merge ``update``, whose values this listener built for the call alone."""
        storage = self._engine.storage
        if kind == FLOW:
            storage.update_flow_metadata(update)
        else:
            storage.update_atom_metadata(name, update, handed_over=True)


@mypyc_attr(native_class=False)
class DurationListener(_MetaWriter):
    """Records how long each execute and revert of every atom (and each flow run) took.

    RUNNING/REVERTING start a timer, PENDING drops it, SUCCESS, FAILURE,
    REVERTED and REVERT_FAILURE stop it and write ``duration`` and append to
    ``durations`` (see the module docstring).
    """

    def __init__(self, engine: ActionEngine, keep_history: bool = True) -> None:
        super().__init__(
            engine,
            task_listen_for=WATCH_STATES,
            flow_listen_for=FLOW_WATCH_STATES,
            retry_listen_for=WATCH_STATES,
        )
        self._keep_history = keep_history
        self._timers: dict[tuple[str, str], _Timer] = {}
        self._lock = threading.Lock()

    def deregister(self) -> None:
        super().deregister()
        with self._lock:
            leftover, self._timers = self._timers, {}
        if leftover:
            LOG.warning(
                "%d item(s) did not enter %s states: %s",
                len(leftover),
                sorted(FINISHED_STATES),
                ", ".join("%s '%s'" % key for key in sorted(leftover)),
            )

    def _flow_receiver(self, state: str, details: Details) -> None:
        self._receiver(FLOW, details["flow_name"], state, details)

    def _task_receiver(self, state: str, details: Details) -> None:
        self._receiver(TASK, details["task_name"], state, details)

    def _retry_receiver(self, state: str, details: Details) -> None:
        self._receiver(RETRY, details["retry_name"], state, details)

    def _receiver(self, kind: str, name: str, state: str, details: Details) -> None:
        key = (kind, name)
        if state == states.PENDING:
            with self._lock:
                self._timers.pop(key, None)
        elif state in STARTING_STATES:
            phase = EXECUTE_PHASE if state == states.RUNNING else REVERT_PHASE
            attempt = details.get("attempt") if kind != FLOW else None
            with self._lock:
                self._timers[key] = _Timer(event_time(details), phase, attempt)
        elif state in FINISHED_STATES or state in PAUSED_STATES:
            with self._lock:
                timer = self._timers.pop(key, None)
            if timer is not None:
                self._record_ending(kind, name, state, timer, event_time(details))

    def _record_ending(
        self, kind: str, name: str, state: str, timer: _Timer, finished: float
    ) -> None:
        duration = max(0.0, finished - timer.started)
        paused = state in PAUSED_STATES
        if not self._keep_history:
            if not paused:
                self._update(kind, name, {DURATION_KEY: duration})
                self._ended(kind, name, duration)
            return
        history = list(self._meta_value(kind, name, DURATIONS_KEY) or [])
        attempt = timer.attempt
        if attempt is None:  # flows (and engines that send no attempt): count runs
            attempt = 1 + sum(1 for entry in history if entry.get("phase") == EXECUTE_PHASE)
            if timer.phase == REVERT_PHASE:
                attempt = max(1, attempt - 1)
        history.append(
            {
                "attempt": attempt,
                "phase": timer.phase,
                "started": timer.started,
                "finished": finished,
                "duration": duration,
                "state": state,
            }
        )
        if paused:  # keep the segment, leave TaskFlow's 'duration' alone
            self._update(kind, name, {DURATIONS_KEY: history})
            return
        self._update(kind, name, {DURATION_KEY: duration, DURATIONS_KEY: history})
        self._ended(kind, name, duration)

    def _ended(self, kind: str, name: str, duration: float) -> None:
        """Hook for subclasses: called after a duration was stored."""


@mypyc_attr(native_class=False)
class PrintingDurationListener(DurationListener):
    """Records durations and also prints when things start and how long they took."""

    def __init__(self, engine: ActionEngine, printer: Callable[[str], Any] | None = None) -> None:
        super().__init__(engine)
        self._printer = printer if printer is not None else _printer

    def _receiver(self, kind: str, name: str, state: str, details: Details) -> None:
        super()._receiver(kind, name, state, details)
        if state in STARTING_STATES:
            self._printer("'%s' %s started." % (name, kind))

    def _ended(self, kind: str, name: str, duration: float) -> None:
        self._printer("It took %s '%s' %0.2f seconds to finish." % (kind, name, duration))


@mypyc_attr(native_class=False)
class EventTimeListener(_MetaWriter):
    """Writes ``<STATE>-timestamp`` (latest) and ``<STATE>-timestamps`` (all) into meta."""

    def __init__(
        self,
        engine: ActionEngine,
        task_listen_for: Iterable[str] | None = DEFAULT_LISTEN_FOR,
        flow_listen_for: Iterable[str] | None = DEFAULT_LISTEN_FOR,
        retry_listen_for: Iterable[str] | None = DEFAULT_LISTEN_FOR,
        keep_history: bool = True,
    ) -> None:
        super().__init__(
            engine,
            task_listen_for=task_listen_for,
            flow_listen_for=flow_listen_for,
            retry_listen_for=retry_listen_for,
        )
        self._keep_history = keep_history

    def _record(self, kind: str, name: str, state: str, details: Details) -> None:
        stamp = event_time(details)
        if not self._keep_history:
            self._update(kind, name, {timestamp_key(state): stamp})
            return
        earlier = self._meta_value(kind, name, timestamps_key(state)) or []
        self._update(
            kind,
            name,
            {timestamp_key(state): stamp, timestamps_key(state): [*earlier, stamp]},
        )

    def _flow_receiver(self, state: str, details: Details) -> None:
        self._record(FLOW, details["flow_name"], state, details)

    def _task_receiver(self, state: str, details: Details) -> None:
        self._record(TASK, details["task_name"], state, details)

    def _retry_receiver(self, state: str, details: Details) -> None:
        self._record(RETRY, details["retry_name"], state, details)
