"""An undo log for the engine's in-memory state, so memory never runs ahead of storage.

Storage changes its records in memory first (listeners hear the new state
before it is committed). When the write carrying a change then fails, the
change must be taken back: otherwise the engine, run again, would go on from a
state the database never got, and its trail would skip the lost rows. Each
mutation records how to restore what it overwrote; :meth:`UndoLog.rollback`
restores it all, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

_MISSING = object()


class UndoLog:
    """Restore actions for changes not yet known to be stored."""

    def __init__(self) -> None:
        self._actions: list[Callable[[], None]] = []

    def __bool__(self) -> bool:
        return bool(self._actions)

    def attrs(self, target: object, names: Iterable[str]) -> None:
        """Remember ``target``'s current values of ``names`` (attributes)."""
        saved = [(name, getattr(target, name)) for name in names]

        def restore() -> None:
            for name, value in saved:
                setattr(target, name, value)

        self._actions.append(restore)

    def keys(self, target: MutableMapping[str, Any], keys: Iterable[str]) -> None:
        """Remember ``target``'s current values of ``keys`` (absent keys are removed again)."""
        saved = [(key, target.get(key, _MISSING)) for key in keys]

        def restore() -> None:
            for key, value in saved:
                if value is _MISSING:
                    target.pop(key, None)
                else:
                    target[key] = value

        self._actions.append(restore)

    def extend(self, other: UndoLog) -> None:
        """Take over ``other``'s actions (they run after this log's older ones)."""
        self._actions.extend(other._actions)
        other._actions = []

    def rollback(self) -> None:
        """Undo every recorded change, newest first, and forget them."""
        actions, self._actions = self._actions, []
        for action in reversed(actions):
            action()

    def clear(self) -> None:
        """The changes are stored: forget how to undo them."""
        self._actions = []
