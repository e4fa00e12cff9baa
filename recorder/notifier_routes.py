"""Who hears an event: the notifier's routes, worked out once per event type and kind.

Listeners register a task and a retry receiver each on the atom notifier, told
apart by a details filter (:class:`HasKeys`), so half the deliveries of every
atom event were a call that asked a filter and returned. A route asks each
distinct :class:`HasKeys` filter of an event type once per event (a few ``in``
tests, inline) and calls, from a tuple made the first time that combination of
answers was seen, only the listeners that pass -- in registration order, ANY's
first, exactly as asking every filter in turn would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recorder.exceptions import InvalidArgument

if TYPE_CHECKING:
    from recorder.notifier import Listener

Delivery = tuple[Callable[[str, Mapping[str, Any]], None], "Listener"]


class HasKeys:
    """A details filter passing details that hold every one of ``keys``.

    Equal to any other with the same keys (so a registration made with one is
    found, and removed, with another); the notifier asks it without a call.
    """

    __slots__ = ("keys",)

    def __init__(self, *keys: str) -> None:
        if not keys:
            raise InvalidArgument("HasKeys needs at least one key")
        self.keys = keys

    def __call__(self, details: Mapping[str, Any]) -> bool:
        return all(key in details for key in self.keys)

    def __eq__(self, other: object) -> bool:
        return type(other) is HasKeys and other.keys == self.keys

    def __hash__(self) -> int:
        return hash((HasKeys, self.keys))

    def __repr__(self) -> str:
        return "HasKeys(%s)" % ", ".join(map(repr, self.keys))


class Route:
    """The listeners of one event type, and which of them hear details of each kind."""

    __slots__ = ("_by_answers", "_listeners", "checks")

    def __init__(self, listeners: Sequence[Listener]) -> None:
        self._listeners = tuple(listeners)
        found: list[tuple[str, ...]] = []
        for listener in listeners:
            keys = _keys_of(listener)
            if keys is not None and keys not in found:
                found.append(keys)
        # (bit, keys): one bit per distinct HasKeys filter, set when details pass it.
        self.checks: tuple[tuple[int, tuple[str, ...]], ...] = tuple(
            (1 << index, keys) for index, keys in enumerate(found)
        )
        self._by_answers: dict[int, tuple[Delivery, ...]] = {}

    def answers(self, details: Mapping[str, Any]) -> int:
        """The bits of the filters ``details`` pass."""
        answers = 0
        for bit, keys in self.checks:
            for key in keys:
                if key not in details:
                    break
            else:
                answers |= bit
        return answers

    def deliveries(self, answers: int) -> tuple[Delivery, ...]:
        """What to call for details giving ``answers``: a passed HasKeys listener, and
        one with no filter, straight to its callback; any other through its own filter."""
        found = self._by_answers.get(answers)
        if found is None:
            bits = {keys: bit for bit, keys in self.checks}
            chosen: list[Delivery] = []
            for listener in self._listeners:
                keys = _keys_of(listener)
                if keys is not None:
                    if answers & bits[keys]:
                        chosen.append((listener.deliver_passed, listener))
                elif listener.details_filter is None:
                    chosen.append((listener.deliver_passed, listener))
                else:
                    chosen.append((listener.deliver, listener))
            found = self._by_answers[answers] = tuple(chosen)
        return found


def _keys_of(listener: Listener) -> tuple[str, ...] | None:
    details_filter = listener.details_filter
    return details_filter.keys if type(details_filter) is HasKeys else None
