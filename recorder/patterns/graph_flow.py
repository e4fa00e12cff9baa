"""Graph flow: children are ordered by the data they exchange and by explicit links.

A child that requires a symbol another child provides runs after it; ``link(u, v)``
adds an ordering with no data. Cycles are rejected when the flow is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recorder import flow
from recorder.exceptions import InvalidArgument


class Flow(flow.Flow):
    """Children ordered by requires/provides and by ``link()``."""

    def __init__(self, name: str, retry: Any = None) -> None:
        super().__init__(name, retry=retry)
        self._explicit: list[tuple[flow.Item, flow.Item]] = []

    def link(self, u: flow.Item, v: flow.Item) -> Flow:
        """Make ``v`` run after ``u`` (both must already be children of this flow)."""
        for item in (u, v):
            if not any(item is child for child in self):
                raise InvalidArgument(
                    "graph flow %r: %r is not a child of this flow" % (self.name, item)
                )
        if u is v:
            raise InvalidArgument("graph flow %r: cannot link %r to itself" % (self.name, u))
        self._explicit.append((u, v))
        return self

    def iter_links(self) -> Iterator[tuple[flow.Item, flow.Item, dict[str, Any]]]:
        children = list(self)
        providers: dict[str, list[flow.Item]] = {}
        for child in children:
            for symbol in child.provides:
                providers.setdefault(symbol, []).append(child)
        seen: set[tuple[int, int]] = set()
        for u, v in self._explicit:
            seen.add((id(u), id(v)))
            yield u, v, {"manual": True}
        for child in children:
            for symbol in sorted(child.requires):
                for provider in providers.get(symbol, ()):
                    key = (id(provider), id(child))
                    if provider is child or key in seen:
                        continue
                    seen.add(key)
                    yield provider, child, {"reasons": {symbol}}
