"""Graph flow: children are ordered by the data they exchange and by explicit links.

As TaskFlow's: links are made when children are added. A child that requires
a symbol one other child provides runs after it (``resolve_requires``), and an
added child that provides what earlier children still require runs before them
(``resolve_existing``); two providers of one required symbol are an
AmbiguousDependency. ``link(u, v)`` adds an ordering with no data, optionally
with a ``decider`` (``decider(history={u name: u result}) -> bool``) that
decides at run time whether ``v`` runs or is ignored (with ``decider_depth``
saying how much after ``v`` is ignored too, see :mod:`recorder.deciders`).
A link or child that would make a cycle is a DependencyCycle, and the flow
stays as it was.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from recorder import deciders, flow
from recorder.exceptions import AmbiguousDependency, DependencyCycle, InvalidArgument

Links = dict[tuple[int, int], tuple[flow.Item, flow.Item, dict[str, Any]]]


class Flow(flow.Flow):
    """Children ordered by requires/provides and by ``link()``."""

    def __init__(self, name: str, retry: Any = None) -> None:
        super().__init__(name, retry=retry)
        self._links: Links = {}

    # -- building ---------------------------------------------------------------

    def _has(self, item: object) -> bool:
        return any(item is child for child in self._children)

    def _preds(self, links: Links, node: flow.Item) -> Iterator[flow.Item]:
        """Every item ``node`` waits for, breadth first."""
        seen = {id(node)}
        queue = deque([node])
        while queue:
            current = queue.popleft()
            for u, v, _meta in links.values():
                if v is current and id(u) not in seen:
                    seen.add(id(u))
                    queue.append(u)
                    yield u

    def _unsatisfied(self, links: Links, node: flow.Item) -> set[str]:
        needed = set(node.requires)
        if self._retry is not None:
            needed -= set(self._retry.provides)
        for pred in self._preds(links, node):
            if not needed:
                break
            needed -= set(pred.provides)
        return needed

    def add(self, *items: flow.Item, **kwargs: Any) -> Flow:
        """Add children (already present ones are skipped) and link them by data.

        ``resolve_requires`` (default True): link providers to what a new child
        requires; ``resolve_existing`` (default True): link a new child to the
        earlier children that require what it provides.
        """
        new: list[flow.Item] = []
        for item in items:
            if not self._has(item) and not any(item is n for n in new):
                new.append(item)
        if not new:
            return self
        resolve_requires = bool(kwargs.get("resolve_requires", True))
        resolve_existing = bool(kwargs.get("resolve_existing", True))
        links: Links = dict(self._links)
        nodes = list(self._children)
        required: dict[str, list[flow.Item]] = {}
        provided: dict[str, list[flow.Item]] = {}
        for node in nodes:
            for symbol in self._unsatisfied(links, node):
                required.setdefault(symbol, []).append(node)
            for symbol in node.provides:
                provided.setdefault(symbol, []).append(node)
        super().add(*new)  # checks the items' types
        try:
            for node in new:
                if resolve_requires:
                    for symbol in sorted(self._unsatisfied(links, node)):
                        providers = provided.get(symbol, [])
                        if len(providers) > 1:
                            raise AmbiguousDependency(
                                "Resolution error detected when adding '%s', multiple"
                                " providers %s found for required symbol '%s'"
                                % (node.name, sorted(p.name for p in providers), symbol)
                            )
                        if providers:
                            _add_link(links, providers[0], node, reason=symbol)
                        else:
                            required.setdefault(symbol, []).append(node)
                for symbol in node.provides:
                    provided.setdefault(symbol, []).append(node)
                if resolve_existing:
                    for symbol in node.provides:
                        for requiree in list(required.get(symbol, ())):
                            if requiree is not node:
                                _add_link(links, node, requiree, reason=symbol)
                                required[symbol].remove(requiree)
            self._check_acyclic(links)
        except BaseException:
            self._children = nodes
            raise
        self._links = links
        return self

    def link(
        self,
        u: flow.Item,
        v: flow.Item,
        decider: Callable[..., bool] | None = None,
        decider_depth: deciders.Depth | str | None = None,
    ) -> Flow:
        """Make ``v`` run after ``u`` (both must already be children of this flow)."""
        if not self._has(u):
            raise InvalidArgument("Node '%s' not found to link from" % (u,))
        if not self._has(v):
            raise InvalidArgument("Node '%s' not found to link to" % (v,))
        if u is v:
            raise InvalidArgument("graph flow %r: cannot link %r to itself" % (self.name, u))
        if decider is not None and not callable(decider):
            raise InvalidArgument("Decider boolean callback must be callable")
        if decider_depth is not None and decider is None:
            raise InvalidArgument("Decider depth requires a decider to be provided along with it")
        links: Links = dict(self._links)
        _add_link(links, u, v, manual=True, decider=decider, depth=decider_depth)
        self._check_acyclic(links)
        self._links = links
        return self

    def _check_acyclic(self, links: Links) -> None:
        remaining = {id(child): 0 for child in self._children}
        for _u, v, _meta in links.values():
            remaining[id(v)] += 1
        ready = [child for child in self._children if remaining[id(child)] == 0]
        seen = 0
        while ready:
            node = ready.pop()
            seen += 1
            for u, v, _meta in links.values():
                if u is node:
                    remaining[id(v)] -= 1
                    if remaining[id(v)] == 0:
                        ready.append(v)
        if seen != len(self._children):
            raise DependencyCycle(
                "No path through the node(s) in the graph produces an ordering that"
                " will allow for logical edge traversal"
            )

    # -- reading ---------------------------------------------------------------

    def _visible(self) -> list[flow.Item]:
        return list(self._children)

    def __len__(self) -> int:
        return len(self._visible())

    def __iter__(self) -> Iterator[flow.Item]:
        for node, _meta in self.iter_nodes():
            yield node

    def iter_nodes(self) -> Iterator[tuple[flow.Item, dict[str, Any]]]:
        """Children in a topological order, each with its (empty) metadata."""
        visible = self._visible()
        keep = {id(n) for n in visible}
        links = [(u, v) for u, v, _m in self.iter_links()]
        remaining = {id(n): 0 for n in visible}
        for _u, v in links:
            remaining[id(v)] += 1
        ready = deque(n for n in visible if remaining[id(n)] == 0)
        while ready:
            node = ready.popleft()
            yield node, {}
            for u, v in links:
                if u is node and id(v) in keep:
                    remaining[id(v)] -= 1
                    if remaining[id(v)] == 0:
                        ready.append(v)

    def iter_links(self) -> Iterator[tuple[flow.Item, flow.Item, dict[str, Any]]]:
        keep = {id(n) for n in self._visible()}
        for u, v, meta in self._links.values():
            if id(u) in keep and id(v) in keep:
                yield u, v, meta

    @property
    def requires(self) -> frozenset[str]:
        needed: set[str] = set()
        if self._retry is not None:
            needed.update(self._retry.requires)
        own = {
            symbol for node in self._visible() for symbol in self._unsatisfied(self._links, node)
        }
        return frozenset(needed | own)


def _add_link(
    links: Links,
    u: flow.Item,
    v: flow.Item,
    reason: str | None = None,
    manual: bool = False,
    decider: Callable[..., bool] | None = None,
    depth: deciders.Depth | str | None = None,
) -> None:
    key = (id(u), id(v))
    meta = dict(links[key][2]) if key in links else {}
    if decider is not None:
        meta[flow.LINK_DECIDER] = decider
        meta.pop(flow.LINK_DECIDER_DEPTH, None)
    if depth is not None:
        meta[flow.LINK_DECIDER_DEPTH] = deciders.Depth.translate(depth)
    if manual:
        meta[flow.LINK_MANUAL] = True
    if reason is not None:
        meta[flow.LINK_REASONS] = {*meta.get(flow.LINK_REASONS, ()), reason}
    links[key] = (u, v, meta)


class TargetedFlow(Flow):
    """A graph flow that runs only what one target child needs (and the target)."""

    def __init__(self, name: str, retry: Any = None) -> None:
        super().__init__(name, retry=retry)
        self._target: flow.Item | None = None

    def set_target(self, target_node: flow.Item) -> None:
        """Run only ``target_node`` and the children it (transitively) waits for."""
        if not self._has(target_node):
            raise InvalidArgument("Node '%s' not found" % (target_node,))
        self._target = target_node

    def reset_target(self) -> None:
        """Run every child again."""
        self._target = None

    def _visible(self) -> list[flow.Item]:
        if self._target is None:
            return list(self._children)
        wanted = {id(self._target)} | {id(p) for p in self._preds(self._links, self._target)}
        return [child for child in self._children if id(child) in wanted]
