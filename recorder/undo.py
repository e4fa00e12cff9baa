"""An undo log for the engine's in-memory state, so memory never runs ahead of storage.

Storage changes its records in memory first (listeners hear the new state
before it is committed). When the write carrying a change then fails, the
change must be taken back: otherwise the engine, run again, would go on from a
state the database never got, and its trail would skip the lost rows. Each
mutation records how to restore what it overwrote; :meth:`UndoLog.rollback`
restores it all, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

_MISSING = object()


class UndoLog:
    """Restore actions for changes not yet known to be stored.

    Each change is kept as ``(target, saved, is_mapping)``: the engine records one
    or more per state change, so no closure is built for the (rare) rollback.
    """

    __slots__ = ("_actions",)

    def __init__(self) -> None:
        self._actions: list[tuple[Any, list[tuple[str, Any]], bool]] = []

    def __bool__(self) -> bool:
        return bool(self._actions)

    def attrs(self, target: object, names: Iterable[str]) -> None:
        """Remember ``target``'s current values of ``names`` (attributes)."""
        self._actions.append((target, [(name, getattr(target, name)) for name in names], False))

    def keys(self, target: MutableMapping[str, Any], keys: Iterable[str]) -> None:
        """Remember ``target``'s current values of ``keys`` (absent keys are removed again)."""
        self._actions.append((target, [(key, target.get(key, _MISSING)) for key in keys], True))

    def extend(self, other: UndoLog) -> None:
        """Take over ``other``'s actions (they run after this log's older ones)."""
        self._actions.extend(other._actions)
        other._actions = []

    def rollback(self) -> None:
        """Undo every recorded change, newest first, and forget them."""
        actions, self._actions = self._actions, []
        for index in range(len(actions) - 1, -1, -1):
            target, saved, is_mapping = actions[index]
            if not is_mapping:
                for name, value in saved:
                    setattr(target, name, value)
                continue
            for key, value in saved:
                if value is _MISSING:
                    target.pop(key, None)
                else:
                    target[key] = value
