"""Retry controllers: decide what happens when an atom in their (sub)flow fails.

A retry runs before the atoms of the flow it is attached to. When one of them
fails, the engine reverts the failed atom, then asks the retry's
``on_failure(history)`` for a decision:

``RETRY``       revert the flow's atoms, run the retry again, then the atoms again;
``REVERT``      revert the flow's atoms and the retry, and let the enclosing
                retry (if any) decide;
``REVERT_ALL``  revert the whole top-level flow.

``history`` holds one ``(result, {atom name: Failure})`` entry per attempt.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from recorder.atom import KIND_RETRY, Atom
from recorder.exceptions import InvalidArgument, NotFound
from recorder.failure import Failure

EXECUTE = "EXECUTE"
REVERT = "REVERT"
REVERT_ALL = "REVERT_ALL"
RETRY = "RETRY"


class Decision(str, enum.Enum):
    """What a retry controller decided after a failure in its scope."""

    RETRY = RETRY
    REVERT = REVERT
    REVERT_ALL = REVERT_ALL


class History:
    """The attempts of one retry: ``(result, failures)`` per attempt, oldest first."""

    def __init__(
        self,
        contents: Sequence[tuple[Any, Mapping[str, Failure]]] = (),
        failure: Failure | None = None,
    ) -> None:
        self._contents = [(result, dict(failures)) for result, failures in contents]
        self._failure = failure

    def __len__(self) -> int:
        return len(self._contents)

    def __iter__(self) -> Iterator[tuple[Any, dict[str, Failure]]]:
        return iter(self._contents)

    def __getitem__(self, index: int) -> tuple[Any, dict[str, Failure]]:
        return self._contents[index]

    @property
    def failure(self) -> Failure | None:
        """A failure of the retry itself (its execute raised), if any."""
        return self._failure

    def provided_iter(self) -> Iterator[Any]:
        """The retry's result of each attempt."""
        for result, _failures in self._contents:
            yield result

    def outcomes_iter(self, index: int | None = None) -> Iterator[tuple[str, Failure]]:
        """``(atom name, failure)`` pairs of every attempt (or of one attempt)."""
        entries = self._contents if index is None else [self._contents[index]]
        for _result, failures in entries:
            yield from failures.items()

    def caused_by(
        self,
        exception_cls: type[BaseException] | str,
        index: int | None = None,
        include_retry: bool = False,
    ) -> bool:
        """Whether a failure of the attempts (or of attempt ``index``) is of
        ``exception_cls``; ``include_retry``: the retry's own failure counts too
        (TaskFlow's signature: by default it does not)."""
        if any(failure.check(exception_cls) for _name, failure in self.outcomes_iter(index)):
            return True
        return (
            include_retry and self._failure is not None and bool(self._failure.check(exception_cls))
        )


class Retry(Atom):
    """Base of retry controllers; subclasses implement ``on_failure`` (and ``execute``)."""

    kind = KIND_RETRY
    _engine_args = ("history",)

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Mapping[str, str] | Iterable[str] | None = None,
    ) -> None:
        # Unnamed: the flow it controls names it '<flow>_retry', as TaskFlow does.
        self.unnamed = name is None
        super().__init__(
            name=name,
            provides=provides,
            requires=requires,
            auto_extract=auto_extract,
            rebind=rebind,
        )

    def execute(self, history: History, *args: Any, **kwargs: Any) -> Any:
        """Runs before each attempt of the scope; its result is what it provides."""
        return None

    def revert(self, history: History, *args: Any, **kwargs: Any) -> Any:
        """Runs when the retry itself is reverted (its scope gave up)."""
        return None

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        raise NotImplementedError


class AlwaysRevert(Retry):
    """Never retry: revert this scope and let the enclosing retry decide."""

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return Decision.REVERT


class AlwaysRevertAll(Retry):
    """Never retry: revert the whole flow."""

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return Decision.REVERT_ALL


class _GivingUp(Retry):
    """A retry that reverts its scope, or everything, once it gives up."""

    def __init__(self, revert_all: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._revert_all = bool(revert_all)

    def _give_up(self) -> Decision:
        return Decision.REVERT_ALL if self._revert_all else Decision.REVERT


class Times(_GivingUp):
    """Run the scope up to ``attempts`` times; provides the attempt number (1, 2, ...).

    ``attempts=0`` (or 1) runs the scope once: its first failure gives up."""

    def __init__(
        self,
        attempts: int = 1,
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Mapping[str, str] | Iterable[str] | None = None,
        revert_all: bool = False,
    ) -> None:
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
            raise InvalidArgument("Times: attempts must be an int >= 0, got %r" % (attempts,))
        super().__init__(
            revert_all,
            name=name,
            provides=provides,
            requires=requires,
            auto_extract=auto_extract,
            rebind=rebind,
        )
        self._attempts = attempts

    @property
    def attempts(self) -> int:
        return self._attempts

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        if len(history) < self._attempts:
            return Decision.RETRY
        return self._give_up()

    def execute(self, history: History, *args: Any, **kwargs: Any) -> int:
        return len(history) + 1


class _ForEachBase(_GivingUp):
    """Shared logic: hand out the values not yet tried, one per attempt."""

    @staticmethod
    def _remaining(values: Iterable[Any], history: History) -> list[Any]:
        # Each value tried takes away one occurrence (as TaskFlow's): [3, 2, 3] tries 3 twice.
        remaining = list(values)
        for tried in history.provided_iter():
            if tried in remaining:
                remaining.remove(tried)
        return remaining

    def _next_value(self, values: Iterable[Any], history: History) -> Any:
        remaining = self._remaining(values, history)
        if not remaining:
            raise NotFound(
                "No elements left in collection of iterable retry controller %s" % self.name
            )
        return remaining[0]

    def _decide(self, values: Iterable[Any], history: History) -> Decision:
        return Decision.RETRY if self._remaining(values, history) else self._give_up()


def _checked_values(values: Any, owner: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgument("%s: values must be a list/tuple of values, got %r" % (owner, values))
    return list(values)


class ForEach(_ForEachBase):
    """Try the scope once with each of ``values`` (provided to the scope), until one works."""

    def __init__(
        self,
        values: Iterable[Any],
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Mapping[str, str] | Iterable[str] | None = None,
        revert_all: bool = False,
    ) -> None:
        self._values = _checked_values(values, "ForEach")
        super().__init__(
            revert_all,
            name=name,
            provides=provides,
            requires=requires,
            auto_extract=auto_extract,
            rebind=rebind,
        )

    def on_failure(self, history: History, *args: Any, **kwargs: Any) -> Decision:
        return self._decide(self._values, history)

    def execute(self, history: History, *args: Any, **kwargs: Any) -> Any:
        return self._next_value(self._values, history)


class ParameterizedForEach(_ForEachBase):
    """Like ForEach, but the values come from the ``values`` symbol at run time."""

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Mapping[str, str] | Iterable[str] | None = None,
        revert_all: bool = False,
    ) -> None:
        super().__init__(
            revert_all,
            name=name,
            provides=provides,
            requires=requires,
            auto_extract=auto_extract,
            rebind=rebind,
        )

    # The engine passes arguments by name, so adding ``values`` first is safe.
    def on_failure(  # type: ignore[override]
        self, values: Any, history: History, *args: Any, **kwargs: Any
    ) -> Decision:
        return self._decide(_checked_values(values, self.name), history)

    def execute(  # type: ignore[override]
        self, values: Any, history: History, *args: Any, **kwargs: Any
    ) -> Any:
        return self._next_value(_checked_values(values, self.name), history)
