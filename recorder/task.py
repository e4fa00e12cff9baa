"""Task: the unit of work a flow runs, with an optional way to undo it.

Subclass :class:`Task` and write ``execute`` (its parameters are what the task
requires) and, when it has effects to undo, ``revert``. ``revert`` gets the
same arguments plus ``result`` (what execute returned, or the
:class:`~recorder.failure.Failure` it raised) and ``flow_failures`` (atom name
to Failure for everything that failed), when it accepts them.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from recorder.atom import KIND_TASK, Atom
from recorder.atom_args import Rebind, signature_args
from recorder.exceptions import InvalidArgument, InvalidType
from recorder.notifier import RestrictedNotifier

EVENT_UPDATE_PROGRESS = "update_progress"

LOG = logging.getLogger(__name__)  # TaskFlow's name: code that patches task.LOG ports

_TaskT = TypeVar("_TaskT", bound="Task")


def callable_name(function: Callable[..., Any]) -> str:
    """``module.qualname`` of a function, as TaskFlow names functor tasks."""
    qualname = getattr(function, "__qualname__", None)
    module = getattr(function, "__module__", None)
    if qualname is None:
        return repr(function)
    return qualname if module in (None, "__main__") else "%s.%s" % (module, qualname)


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

    def copy(self: _TaskT, retain_listeners: bool = True) -> _TaskT:
        """A shallow copy with its own notifier (holding this one's listeners, or none)."""
        clone = copy.copy(self)
        clone._notifier = (
            cast(RestrictedNotifier, self.notifier.copy()) if retain_listeners else None
        )
        return clone

    def update_progress(self, progress: float) -> None:
        """Report progress between 0.0 and 1.0 (values outside are clamped, with a warning)."""
        value = min(1.0, max(0.0, float(progress)))
        if value != progress:
            LOG.warning(
                "Progress value must be greater or equal to 0.0 or less than or"
                " equal to 1.0 instead of being '%s'",
                progress,
            )
        self.notifier.notify(EVENT_UPDATE_PROGRESS, {"progress": value})


class FunctorTask(Task):
    """A task made from plain functions instead of a subclass."""

    def __init__(
        self,
        execute: Callable[..., Any],
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Rebind = None,
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
            name = callable_name(execute)
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

    def _revert_signature_source(self) -> Callable[..., Any]:
        return self._revert_fn if self._revert_fn is not None else Atom.revert.__get__(self)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._execute_fn(*args, **kwargs)

    def revert(self, *args: Any, **kwargs: Any) -> Any:
        if self._revert_fn is None:
            return None
        return self._revert_fn(*args, **kwargs)


def _check_requires(requires: Any) -> list[str]:
    if isinstance(requires, str) or not isinstance(requires, Iterable):
        raise InvalidType(
            "%s type was provided for requires. Requires must be an iterable." % type(requires)
        )
    return list(requires)


class _ListFunctorTask(Task):
    """Applies a functor to the values of ``requires`` (in order); see the subclasses."""

    _arity = 1
    _kind = "map"

    def __init__(
        self,
        functor: Callable[..., Any],
        requires: Iterable[str],
        name: str | None = None,
        provides: Any = None,
        auto_extract: bool = True,
        rebind: Rebind = None,
        inject: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(functor):
            raise InvalidArgument("Function to use for %s must be callable" % self._kind)
        arity = len(signature_args(functor)[0])
        if arity != self._arity:
            raise InvalidArgument(
                "%s arguments were provided. %s functor must take exactly %s."
                % (arity, self._kind.capitalize(), self._arity_text())
            )
        names = self._checked(_check_requires(requires))
        self._functor = functor
        super().__init__(
            name=name if name is not None else callable_name(functor),
            provides=provides,
            requires=names,
            auto_extract=auto_extract,
            rebind=rebind,
            inject=inject,
        )

    def _arity_text(self) -> str:
        return "1 argument" if self._arity == 1 else "%d arguments" % self._arity

    def _checked(self, requires: list[str]) -> list[str]:
        return requires

    def _values(self, kwargs: Mapping[str, Any]) -> list[Any]:
        return [kwargs[symbol] for symbol in self.requires]


class MapFunctorTask(_ListFunctorTask):
    """Returns ``list(map(functor, values of requires))``, as TaskFlow's."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return list(map(self._functor, self._values(kwargs)))


class ReduceFunctorTask(_ListFunctorTask):
    """Returns ``functools.reduce(functor, values of requires)``, as TaskFlow's."""

    _arity = 2
    _kind = "reduce"

    def _checked(self, requires: list[str]) -> list[str]:
        if len(requires) < 2:
            raise InvalidArgument(
                "%s elements were provided. Requires must have at least 2 elements." % len(requires)
            )
        return requires

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return functools.reduce(self._functor, self._values(kwargs))
