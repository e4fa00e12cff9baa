"""Compile a (nested) flow into one graph of atoms the engine can schedule.

The result is index based: atom ``i`` has predecessor and successor lists, the
index of the retry that controls it, and, for each retry, the atoms in its
scope. Argument sources are resolved once here (not per call at run time):
each argument of each atom comes from an injected value, the store, or the
result of the nearest earlier atom that provides it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recorder.atom import Atom, ResultPointer
from recorder.deciders import Depth
from recorder.exceptions import DependencyCycle, DuplicateName, MissingDependencies
from recorder.flow import LINK_DECIDER, LINK_DECIDER_DEPTH, Flow, Item
from recorder.retry import Retry

SOURCE_INJECT = "inject"
SOURCE_STORE = "store"
SOURCE_ATOM = "atom"


@dataclass(frozen=True)
class ArgSource:
    """Where one argument of an atom comes from at run time."""

    arg: str
    symbol: str
    source: str  # SOURCE_INJECT | SOURCE_STORE | SOURCE_ATOM
    provider: int = -1  # atom index when source is SOURCE_ATOM
    pointer: ResultPointer = None  # where the symbol sits in the provider's result
    # When the provider is skipped (IGNORE) at run time: the next nearest providers
    # (index, pointer), then the store if it has the symbol.
    fallbacks: tuple[tuple[int, ResultPointer], ...] = ()


@dataclass(frozen=True)
class EdgeDecider:
    """A graph-flow link's decider, attached to each entry atom of the link's target."""

    decider: Callable[..., bool]
    depth: Depth
    voter: int | None  # the atom the link comes from (None: it comes from a flow)


@dataclass
class Compilation:
    """A flow flattened into atoms and ordering edges between them."""

    flow: Flow | Atom
    atoms: list[Atom] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    preds: list[list[int]] = field(default_factory=list)
    succs: list[list[int]] = field(default_factory=list)
    retry_of: list[int | None] = field(default_factory=list)
    scope: dict[int, list[int]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # a topological order
    position: dict[int, int] = field(default_factory=dict)  # atom index -> place in order
    arg_sources: list[list[ArgSource]] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)  # id() of the flow holding each atom
    deciders: dict[int, list[EdgeDecider]] = field(default_factory=dict)

    def find(self, name: str) -> Atom:
        return self.atoms[self.index[name]]

    def predecessors(self, name: str) -> list[str]:
        """Names of the atoms that run directly before ``name``."""
        return [self.atoms[p].name for p in self.preds[self.index[name]]]

    def scope_of(self, name: str) -> list[list[str]] | None:
        """The atoms whose results ``name`` sees, nearest first, one per level: the
        rule argument sources follow, given to storage so that its fetches by atom
        name (``fetch_mapped_args(atom_name=...)``) agree with what the engine passed."""
        idx = self.index.get(name)
        if idx is None:
            return None
        seen = sorted(_ancestors(self.preds, idx), key=self.position.__getitem__, reverse=True)
        return [[self.atoms[i].name] for i in seen]

    def iter_ancestors(self, name: str) -> Iterable[str]:
        """Names of every atom ``name`` waits for, nearest first (breadth first)."""
        for i in _ancestors(self.preds, self.index[name]):
            yield self.atoms[i].name


def _ancestors(preds: Sequence[Sequence[int]], start: int) -> list[int]:
    seen: set[int] = set()
    found: list[int] = []
    queue = deque(preds[start])
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        found.append(node)
        queue.extend(preds[node])
    return found


class _Builder:
    def __init__(self, flow: Flow | Atom) -> None:
        self.c = Compilation(flow=flow)
        self.edges: set[tuple[int, int]] = set()
        self.parent = 0

    def add_atom(self, atom: Atom, controller: int | None) -> int:
        c = self.c
        if atom.name in c.index:
            raise DuplicateName(
                "atom name %r is used twice in flow %r; names must be unique"
                % (atom.name, c.flow.name)
            )
        idx = len(c.atoms)
        c.atoms.append(atom)
        c.index[atom.name] = idx
        c.preds.append([])
        c.succs.append([])
        c.retry_of.append(controller)
        c.parent.append(self.parent)
        return idx

    def link(self, sources: Iterable[int], targets: Sequence[int]) -> None:
        for u in sources:
            for v in targets:
                if (u, v) not in self.edges:
                    self.edges.add((u, v))
                    self.c.succs[u].append(v)
                    self.c.preds[v].append(u)

    def compile_item(self, item: Item, controller: int | None) -> tuple[list[int], list[int]]:
        """Add ``item``; return its entry atoms (no preds inside) and exit atoms."""
        if isinstance(item, Atom):
            idx = self.add_atom(item, controller)
            return [idx], [idx]
        outer, self.parent = self.parent, id(item)
        try:
            return self._compile_flow(item, controller)
        finally:
            self.parent = outer

    def _compile_flow(self, item: Flow, controller: int | None) -> tuple[list[int], list[int]]:
        retry_idx = None
        if item.retry is not None:
            retry_idx = self.add_atom(item.retry, controller)
            controller = retry_idx
        first_member = len(self.c.atoms)
        ends: dict[int, tuple[list[int], list[int]]] = {}
        for child in item:
            ends[id(child)] = self.compile_item(child, controller)
        has_pred: set[int] = set()
        has_succ: set[int] = set()
        for before, after, meta in item.iter_links():
            self.link(ends[id(before)][1], ends[id(after)][0])
            decider = meta.get(LINK_DECIDER)
            if decider is not None:
                voter = self.c.index[before.name] if isinstance(before, Atom) else None
                depth = Depth.translate(meta.get(LINK_DECIDER_DEPTH) or Depth.ALL)
                for entry in ends[id(after)][0]:
                    self.c.deciders.setdefault(entry, []).append(EdgeDecider(decider, depth, voter))
            has_succ.add(id(before))
            has_pred.add(id(after))
        entries = [i for key, (e, _x) in ends.items() if key not in has_pred for i in e]
        exits = [i for key, (_e, x) in ends.items() if key not in has_succ for i in x]
        if retry_idx is not None:
            self.c.scope[retry_idx] = list(range(first_member, len(self.c.atoms)))
            self.link([retry_idx], entries)
            entries = [retry_idx]
            if not exits:
                exits = [retry_idx]
        return entries, exits

    def topological_order(self) -> list[int]:
        c = self.c
        remaining = [len(p) for p in c.preds]
        ready = deque(i for i, n in enumerate(remaining) if n == 0)
        order: list[int] = []
        while ready:
            node = ready.popleft()
            order.append(node)
            for succ in c.succs[node]:
                remaining[succ] -= 1
                if remaining[succ] == 0:
                    ready.append(succ)
        if len(order) != len(c.atoms):
            stuck = sorted(c.atoms[i].name for i, n in enumerate(remaining) if n > 0)
            raise DependencyCycle(
                "flow %r has a dependency cycle between atoms: %s" % (c.flow.name, ", ".join(stuck))
            )
        return order


def compile_flow(flow: Flow | Atom) -> Compilation:
    """Flatten ``flow``; raise DuplicateName or DependencyCycle when it cannot run."""
    builder = _Builder(flow)
    builder.compile_item(flow, None)
    builder.c.order = builder.topological_order()
    builder.c.position = {node: pos for pos, node in enumerate(builder.c.order)}
    return builder.c


class _ArgumentFinder:
    """Finds the source of each symbol an atom asks for (once per compilation)."""

    def __init__(self, c: Compilation, store: Mapping[str, Any]) -> None:
        self.c = c
        self.store = store
        self.position = c.position
        self.providers: dict[str, list[int]] = {}
        for idx, atom in enumerate(c.atoms):
            for symbol in atom.provides:
                self.providers.setdefault(symbol, []).append(idx)
        self._ancestors: dict[int, set[int]] = {}

    def source(self, idx: int, arg: str, symbol: str) -> ArgSource | None:
        c = self.c
        # As TaskFlow's storage: an atom's injected values are keyed by symbol.
        if symbol in c.atoms[idx].inject:
            return ArgSource(arg, symbol, SOURCE_INJECT)
        candidates = self.providers.get(symbol, ())
        if candidates:
            if idx not in self._ancestors:
                self._ancestors[idx] = set(_ancestors(c.preds, idx))
            earlier = [p for p in candidates if p in self._ancestors[idx]]
            if earlier:
                earlier.sort(key=self.position.__getitem__, reverse=True)
                nearest, *others = earlier
                pointer = c.atoms[nearest].save_as[symbol]
                fallbacks = tuple((o, c.atoms[o].save_as[symbol]) for o in others)
                return ArgSource(arg, symbol, SOURCE_ATOM, nearest, pointer, fallbacks)
        if symbol in self.store:
            return ArgSource(arg, symbol, SOURCE_STORE)
        return None


def resolve_arguments(compilation: Compilation, store: Mapping[str, Any]) -> None:
    """Decide where every argument comes from; MissingDependencies names what is missing.

    Revert's arguments are checked too (TaskFlow's validate does): a revert that
    could not get its arguments would fail only when a failure needs it.
    """
    c = compilation
    finder = _ArgumentFinder(c, store)
    missing: list[str] = []
    symbols: set[str] = set()
    cause: MissingDependencies | None = None
    c.arg_sources = []
    for idx, atom in enumerate(c.atoms):
        sources: list[ArgSource] = []
        lacking: list[str] = []
        for arg, symbol in atom.rebind.items():
            found = finder.source(idx, arg, symbol)
            if found is not None:
                sources.append(found)
            elif symbol not in atom.optional:
                lacking.append(symbol)
        c.arg_sources.append(sources)
        lacking_to_revert: list[str] = []
        if atom.revert_rebind != atom.rebind:
            for arg, symbol in atom.revert_rebind.items():
                if symbol not in atom.revert_optional and finder.source(idx, arg, symbol) is None:
                    lacking_to_revert.append(symbol)
        for needs, purpose in ((lacking, ""), (lacking_to_revert, " to revert")):
            if needs:
                text = "; ".join("atom %r requires %r%s" % (atom.name, s, purpose) for s in needs)
                missing.append(text)
                symbols.update(needs)
                cause = MissingDependencies(text, cause=cause, requirements=needs)
    if missing:
        raise MissingDependencies(
            "flow %r: %s, which neither the store nor an earlier atom provides"
            % (c.flow.name, "; ".join(missing)),
            cause=cause,
            requirements=sorted(symbols),
        )


def is_retry(atom: Atom) -> bool:
    return isinstance(atom, Retry)
