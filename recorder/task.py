"""Task: the unit of work a flow runs, with an optional way to undo it.

Subclass :class:`Task` and write ``execute`` (its parameters are what the task
requires) and, when it has effects to undo, ``revert``. ``revert`` gets the
same arguments plus ``result`` (what execute returned, or the
:class:`~recorder.failure.Failure` it raised) and ``flow_failures`` (atom name
to Failure for everything that failed), when it accepts them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from recorder.atom import KIND_TASK, Atom
from recorder.exceptions import InvalidArgument
from recorder.notifier import RestrictedNotifier

EVENT_UPDATE_PROGRESS = "update_progress"

LOG = logging.getLogger(__name__)  # TaskFlow's name: code that patches task.LOG ports


class Task(Atom):
    """A unit of work: ``execute`` does it, ``revert`` undoes it."""

    kind = KIND_TASK
    TASK_EVENTS = (EVENT_UPDATE_PROGRESS,)

    _notifier: RestrictedNotifier | None = None

    @property
    def notifier(self) -> RestrictedNotifier:
        """Task-level events (progress); the engine relays them into storage meta."""
        if self._notifier is None:  # made on first use: Task keeps Atom's constructor
            self._notifier = RestrictedNotifier(self.TASK_EVENTS)
        return self._notifier

    def update_progress(self, progress: float) -> None:
        """Report progress between 0.0 and 1.0 (values outside are clamped)."""
        progress = min(1.0, max(0.0, float(progress)))
        self.notifier.notify(EVENT_UPDATE_PROGRESS, {"progress": progress})


class FunctorTask(Task):
    """A task made from plain functions instead of a subclass."""

    def __init__(
        self,
        execute: Callable[..., Any],
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Mapping[str, str] | Iterable[str] | None = None,
        revert: Callable[..., Any] | None = None,
        inject: Mapping[str, Any] | None = None,
        version: str | tuple[int, ...] = "1.0",
    ) -> None:
        if not callable(execute):
            raise InvalidArgument("FunctorTask: execute %r is not callable" % (execute,))
        if revert is not None and not callable(revert):
            raise InvalidArgument("FunctorTask: revert %r is not callable" % (revert,))
        self._execute_fn = execute
        self._revert_fn = revert
        if name is None:
            name = getattr(execute, "__qualname__", None) or repr(execute)
        super().__init__(
            name=name,
            provides=provides,
            requires=requires,
            auto_extract=auto_extract,
            rebind=rebind,
            inject=inject,
            version=version,
        )

    def _signature_source(self) -> Callable[..., Any]:
        return self._execute_fn

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._execute_fn(*args, **kwargs)

    def revert(self, *args: Any, **kwargs: Any) -> Any:
        if self._revert_fn is None:
            return None
        return self._revert_fn(*args, **kwargs)
