"""Listener base classes: register receivers on an engine's notifiers, and undo it.

A :class:`Listener` registers one callback per state it listens for: flow states
on ``engine.notifier``, task and retry states on ``engine.atom_notifier`` (both
kinds of atom event arrive there; a details filter tells them apart by the
``task_name``/``retry_name`` key). ``register()`` is all or nothing: when one
registration fails, the ones it already made are removed before the error
propagates, so a half-attached listener never lingers.

Unlike TaskFlow's stock listeners, recorder's also handle retry atoms.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from recorder import states
from recorder.failure import Failure
from recorder.notifier import ANY, Notifier
from recorder.notifier_routes import HasKeys

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine

_ListenerT = TypeVar("_ListenerT", bound="Listener")  # `with X(engine) as x`: x is an X

LOG = logging.getLogger(__name__)

FINISH_STATES = states.RESULT_STATES
"""States whose event details carry a ``result``; other states produce none."""

DEFAULT_LISTEN_FOR: tuple[str, ...] = (ANY,)
"""What is listened for by default: every state."""

TASK = states.KIND_TASK
RETRY = states.KIND_RETRY
FLOW = states.KIND_FLOW

Receiver = Callable[[str, dict[str, Any]], None]
Details = dict[str, Any]


_task_matcher = HasKeys("task_name", "task_uuid")
"""Whether atom event details are about a task (the notifier routes by it)."""

_retry_matcher = HasKeys("retry_name", "retry_uuid")
"""Whether atom event details are about a retry."""


class Listener:
    """Base class for listeners; subclasses override the ``_*_receiver`` methods.

    Use it as a context manager to register on enter and deregister on exit
    (also when the block raises), or call :meth:`register`/:meth:`deregister`.
    An empty (or None) ``*_listen_for`` registers nothing of that kind.
    """

    def __init__(
        self,
        engine: ActionEngine,
        task_listen_for: Iterable[str] | None = DEFAULT_LISTEN_FOR,
        flow_listen_for: Iterable[str] | None = DEFAULT_LISTEN_FOR,
        retry_listen_for: Iterable[str] | None = DEFAULT_LISTEN_FOR,
    ) -> None:
        self._engine = engine
        self._listen_for: dict[str, list[str]] = {
            TASK: list(task_listen_for or ()),
            RETRY: list(retry_listen_for or ()),
            FLOW: list(flow_listen_for or ()),
        }
        # kind -> states this listener registered for (present once registered).
        self._registered: dict[str, list[str]] = {}

    # -- receivers (no-ops here) ----------------------------------------------

    def _flow_receiver(self, state: str, details: Details) -> None:
        """Called on each flow state change listened for."""

    def _task_receiver(self, state: str, details: Details) -> None:
        """Called on each task state change listened for."""

    def _retry_receiver(self, state: str, details: Details) -> None:
        """Called on each retry state change listened for."""

    # -- (de)registration -----------------------------------------------------

    def _plan(self) -> list[tuple[str, Notifier, Receiver, Callable[[Details], bool] | None]]:
        engine = self._engine
        return [
            (TASK, engine.atom_notifier, self._task_receiver, _task_matcher),
            (RETRY, engine.atom_notifier, self._retry_receiver, _retry_matcher),
            (FLOW, engine.notifier, self._flow_receiver, None),
        ]

    def register(self) -> None:
        """Register every receiver; on any error remove what this call registered."""
        done: list[tuple[str, Notifier, Receiver, Callable[[Details], bool] | None, str]] = []
        try:
            for kind, notifier, receiver, details_filter in self._plan():
                if kind in self._registered:
                    continue
                for state in self._listen_for[kind]:
                    if notifier.is_registered(state, receiver, details_filter=details_filter):
                        continue
                    notifier.register(state, receiver, details_filter=details_filter)
                    done.append((kind, notifier, receiver, details_filter, state))
        except BaseException:
            for _kind, notifier, receiver, details_filter, state in reversed(done):
                notifier.deregister(state, receiver, details_filter=details_filter)
            raise
        for kind, *_rest in self._plan():
            if kind not in self._registered:
                self._registered[kind] = [state for k, *_r, state in done if k == kind]

    def deregister(self) -> None:
        """Remove every registration :meth:`register` made (a no-op when none)."""
        for kind, notifier, receiver, details_filter in self._plan():
            for state in reversed(self._registered.pop(kind, [])):
                notifier.deregister(state, receiver, details_filter=details_filter)

    def __enter__(self: _ListenerT) -> _ListenerT:
        self.register()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.deregister()
        except Exception:
            # Never mask the block's own error with a deregistration problem.
            LOG.warning(
                "Failed deregistering listeners from engine %s", self._engine, exc_info=True
            )


class DumpingListener(Listener, metaclass=abc.ABCMeta):
    """Turns every state change into one templated message for :meth:`_dump`.

    Subclasses decide where messages go (stdout, a logger, ...). A Failure
    result passes its ``exc_info`` so the target can show the traceback.
    """

    @abc.abstractmethod
    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        """Write the *templated* ``message`` (``message % args``) somewhere."""

    def _flow_receiver(self, state: str, details: Details) -> None:
        self._dump(
            "%s has moved flow '%s' (%s) into state '%s' from state '%s'",
            self._engine,
            details["flow_name"],
            details["flow_uuid"],
            state,
            details["old_state"],
        )

    def _task_receiver(self, state: str, details: Details) -> None:
        self._atom_dump(TASK, state, details)

    def _retry_receiver(self, state: str, details: Details) -> None:
        self._atom_dump(RETRY, state, details)

    def _atom_dump(self, kind: str, state: str, details: Details) -> None:
        name, uuid = details[kind + "_name"], details[kind + "_uuid"]
        if state not in FINISH_STATES:
            self._dump(
                "%s has moved %s '%s' (%s) into state '%s' from state '%s'",
                self._engine,
                kind,
                name,
                uuid,
                state,
                details["old_state"],
            )
            return
        result = details.get("result")
        exc_info = None
        was_failure = isinstance(result, Failure)
        if isinstance(result, Failure) and result.exc_info:
            exc_info = tuple(result.exc_info)
        self._dump(
            "%s has moved %s '%s' (%s) into state '%s' from state '%s'"
            " with result '%s' (failure=%s)",
            self._engine,
            kind,
            name,
            uuid,
            state,
            details["old_state"],
            result,
            was_failure,
            exc_info=exc_info,
        )
