"""Flow: a named container of atoms and other flows, with an optional retry.

Patterns (:mod:`recorder.patterns`) differ only in the ordering links they put
between their children; the engine's compiler turns the nested structure into
one graph of atoms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar, Union

from recorder.atom import Atom
from recorder.exceptions import InvalidArgument
from recorder.retry import Retry

_FlowT = TypeVar("_FlowT", bound="Flow")  # add() returns the pattern it was called on

Item = Union[Atom, "Flow"]

# Keys of a link's metadata (TaskFlow's names).
LINK_INVARIANT = "invariant"  # the pattern's own ordering (linear flows)
LINK_MANUAL = "manual"  # made by graph_flow.Flow.link()
LINK_RETRY = "retry"
LINK_REASONS = "reasons"  # the symbols that made the link
LINK_DECIDER = "decider"  # decider(history=...) -> bool: run the target or ignore it
LINK_DECIDER_DEPTH = "decider_depth"  # a deciders.Depth: what else is ignored


_PATTERNS_PREFIX = "recorder.patterns."


class Flow:
    """Base of the patterns: holds children in the order they were added."""

    def __init__(self, name: str, retry: Retry | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument("a flow needs a non-empty name (str), got %r" % (name,))
        if retry is not None and not isinstance(retry, Retry):
            raise InvalidArgument("flow %r: retry must be a Retry, got %r" % (name, retry))
        self._name = name
        self._retry = retry
        if retry is not None and retry.unnamed:  # TaskFlow's default retry name
            retry.name, retry.unnamed = name + "_retry", False
        self._children: list[Item] = []
        if retry is not None and retry._name_defaulted:
            retry.name = name + "_retry"
            retry._name_defaulted = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def retry(self) -> Retry | None:
        return self._retry

    def add(self: _FlowT, *items: Item) -> _FlowT:
        """Add atoms or flows; returns the flow so calls can be chained."""
        for item in items:
            if not isinstance(item, (Atom, Flow)):
                raise InvalidArgument(
                    "flow %r: can only add tasks, retries or flows, not %r" % (self._name, item)
                )
            if isinstance(item, Retry):
                raise InvalidArgument(
                    "flow %r: a retry controls a flow; pass it as Flow(name, retry=...)"
                    % self._name
                )
            self._children.append(item)
        return self

    def __len__(self) -> int:
        return len(self._children)

    def __str__(self) -> str:
        """TaskFlow's form: ``"linear_flow.Flow: name(len=N)"``."""
        cls = type(self)
        cls_name = "%s.%s" % (cls.__module__, cls.__qualname__)
        if cls_name.startswith(_PATTERNS_PREFIX):
            cls_name = cls_name[len(_PATTERNS_PREFIX) :]
        return '"%s: %s(len=%d)"' % (cls_name, self.name, len(self))

    def __iter__(self) -> Iterator[Item]:
        return iter(list(self._children))

    def iter_links(self) -> Iterator[tuple[Item, Item, dict[str, Any]]]:
        """Ordering links ``(before, after, metadata)`` between this flow's children."""
        return iter(())

    def iter_nodes(self) -> Iterator[tuple[Item, dict[str, Any]]]:
        """This flow's children, each with its (empty) metadata, as TaskFlow's."""
        for child in self:
            yield child, {}

    def iter_atoms(self) -> Iterator[Atom]:
        """Every atom in this flow and its subflows (retries first), depth first."""
        if self._retry is not None:
            yield self._retry
        for child in self:
            if isinstance(child, Flow):
                yield from child.iter_atoms()
            else:
                yield child

    @property
    def provides(self) -> frozenset[str]:
        """Every symbol some atom in this flow provides."""
        return frozenset(name for atom in self.iter_atoms() for name in atom.provides)

    @property
    def requires(self) -> frozenset[str]:
        """Symbols atoms need that no atom inside this flow provides."""
        required = {name for atom in self.iter_atoms() for name in atom.requires}
        return frozenset(required - self.provides)

    def _requires_in_order(self, chained: bool) -> frozenset[str]:
        """TaskFlow's unsatisfied requirements: the retry's, plus each child's not
        provided by the retry (nor, when ``chained``, by an earlier child)."""
        requires: set[str] = set()
        prior: set[str] = set()
        if self._retry is not None:
            requires.update(self._retry.requires)
            prior.update(self._retry.provides)
        for item in self:
            requires.update(set(item.requires) - prior)
            if chained:
                prior.update(item.provides)
        return frozenset(requires)
