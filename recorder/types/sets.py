"""OrderedSet: an immutable set that keeps insertion order, as TaskFlow's ``types.sets``.

Atoms expose ``provides``/``requires``/``optional`` as these: they compare
equal to plain sets (what ported tests assert) yet iterate in declaration order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Set
from typing import Any, TypeVar

_T = TypeVar("_T", bound=Hashable)


class OrderedSet(Set[_T]):
    """A set whose iteration order is the order items were first given."""

    __slots__ = ("_data",)

    def __init__(self, items: Iterable[_T] = ()) -> None:
        self._data: dict[_T, None] = dict.fromkeys(items)

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> OrderedSet[Any]:
        return cls(it)

    def __contains__(self, item: object) -> bool:
        return item in self._data

    def __iter__(self) -> Iterator[_T]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return self._hash()

    def __repr__(self) -> str:
        return "%s(%r)" % (type(self).__name__, list(self._data))

    def union(self, *others: Iterable[_T]) -> OrderedSet[_T]:
        """Items of this set, then new items of each of ``others``, in order."""
        merged = list(self._data)
        for other in others:
            merged.extend(other)
        return OrderedSet(merged)
