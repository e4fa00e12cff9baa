"""Finding values, TaskFlow's way: ``fetch``, ``fetch_all``, ``fetch_mapped_args``,
``fetch_unsatisfied_args`` (mixed into :class:`~recorder.storage.Storage`).

Where a value comes from: atom-specific injected arguments (transient, then
persistent in the atom's ``injected`` meta), then flow-level injected values
(transient, then the persisted store), then the atoms that provide the name,
nearest scope first when a scope walker (or the storage's scope fetcher) gives
one. Reading only: nothing here writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.exceptions import DisallowedAccess, NotFound

if TYPE_CHECKING:
    from recorder.persistence.models import AtomDetail, FlowDetail

META_INJECTED = "injected"
EXECUTE_STATES_WITH_RESULTS = (states.SUCCESS, states.FAILURE, states.REVERTING, states.RETRYING)
_EXTRACTION_ERRORS = (IndexError, KeyError, ValueError, TypeError)

ScopeWalker = Iterable[Iterable[str]]


def _item(container: Any, index: Any) -> Any:
    return container if index is None else container[index]


class FetchAPI:
    """TaskFlow's value lookups on the storage's memory."""

    # Provided by Storage.
    _flow: FlowDetail
    _lock: threading.RLock
    _store: dict[str, Any]
    _providers: dict[str, list[tuple[str, Any]]]
    _transients: dict[str, Any]
    _injected_args: dict[str, dict[str, Any]]
    _scope_fetcher: Callable[[str], ScopeWalker | None]

    if TYPE_CHECKING:

        def atom_detail(self, name: str) -> AtomDetail: ...
        def _result(self, name: str, last: bool) -> Any: ...

    # -- finding values ------------------------------------------------------------

    def _default_values(self, name: str) -> list[Any]:
        found = []
        if name in self._transients:
            found.append(self._transients[name])
        if name in self._store:
            found.append(self._store[name])
        return found

    def _is_mapped(self, name: str) -> bool:
        return name in self._transients or name in self._store or bool(self._providers.get(name))

    def _atom_values(self, name: str, providers: list[tuple[str, Any]]) -> list[Any]:
        """The values ``providers`` (atom, pointer) give for ``name``, in their order."""
        values = []
        for atom_name, pointer in providers:
            try:
                result = self._result(atom_name, last=True)
            except (NotFound, DisallowedAccess) as exc:
                if getattr(exc, "state", None) == states.IGNORE:
                    continue
                raise NotFound(
                    "Expected to be able to find output %r produced by %r but was "
                    "unable to get at that provider's results" % (name, atom_name)
                ) from exc
            try:
                values.append(_item(result, pointer))
            except _EXTRACTION_ERRORS:
                raise NotFound(
                    "Unable to find result %r, expected to be able to find it created by "
                    "%r but was unable to perform successful extraction" % (name, atom_name)
                ) from None
        return values

    def fetch(self, name: str, many_handler: Callable[[list[Any]], Any] | None = None) -> Any:
        """The value of ``name``: injected values first, then its providers' results."""
        with self._lock:
            if not self._is_mapped(name):
                raise NotFound("Name %r is not mapped as a produced output by any providers" % name)
            values = self._default_values(name)
            values.extend(self._atom_values(name, list(self._providers.get(name, []))))
        if not values:
            raise NotFound("Unable to find result %r, searched its providers" % name)
        return many_handler(values) if many_handler is not None else values[0]

    def fetch_all(self, many_handler: Callable[[list[Any]], Any] | None = None) -> dict[str, Any]:
        """Every name with a value; a name several providers gave maps to the list of values."""
        handler = many_handler or (lambda values: values if len(values) > 1 else values[0])
        found: dict[str, Any] = {}
        names = [*self._transients, *self._store, *self._providers]
        for name in dict.fromkeys(names):
            try:
                found[name] = self.fetch(name, many_handler=handler)
            except NotFound:
                continue
        return found

    def _injected_sources(self, atom_name: str | None) -> list[Mapping[str, Any]]:
        if not atom_name:
            return []
        detail = self.atom_detail(atom_name)
        return [self._injected_args.get(atom_name, {}), detail.meta.get(META_INJECTED) or {}]

    def _scope(self, atom_name: str | None, scope_walker: ScopeWalker | None) -> Any:
        if scope_walker is None and atom_name:
            scope_walker = self._scope_fetcher(atom_name)
        return scope_walker

    def _nearest(
        self, name: str, scope: ScopeWalker | None, potentials: bool = False
    ) -> list[tuple[str, Any]]:
        """The atom providers of ``name`` to use: the nearest scope level that has one
        (every provider, in order, when no scope is known; all of them for ``potentials``)."""
        providers = list(self._providers.get(name, []))
        if scope is None:
            return providers
        found = []
        for level in scope:
            names = list(level)
            nearest = [p for n in names for p in providers if p[0] == n]
            if potentials:
                found.extend(nearest)
                continue
            usable = [p for p in nearest if self._has_result(p[0])]
            if usable:
                return usable
        return found

    def _has_result(self, atom_name: str) -> bool:
        try:
            self._result(atom_name, last=True)
        except (NotFound, DisallowedAccess):
            return False
        return True

    def fetch_mapped_args(
        self,
        args_mapping: Mapping[str, str],
        atom_name: str | None = None,
        scope_walker: ScopeWalker | None = None,
        optional_args: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Argument name to value for an atom's ``rebind`` mapping (TaskFlow's rules).

        A name no provider is mapped to raises NotFound, unless the argument is
        in ``optional_args``; then it is left out.
        """
        optional = set(optional_args or ())
        with self._lock:
            sources = self._injected_sources(atom_name)
            scope = self._scope(atom_name, scope_walker)
            mapped: dict[str, Any] = {}
            for arg, name in args_mapping.items():
                source = next((s for s in sources if name in s), None)
                if source is not None:
                    mapped[arg] = source[name]
                    continue
                if not self._is_mapped(name):
                    if arg in optional:
                        continue
                    raise NotFound(
                        "Name %r is not mapped as a produced output by any providers" % name
                    )
                defaults = self._default_values(name)
                if defaults:
                    mapped[arg] = defaults[0]
                    continue
                mapped[arg] = self._first_value(arg, name, self._nearest(name, scope))
        return mapped

    def _first_value(self, arg: str, name: str, providers: list[tuple[str, Any]]) -> Any:
        tried = 0
        for atom_name, pointer in providers:
            try:
                result = self._result(atom_name, last=True)
            except (NotFound, DisallowedAccess):
                continue
            tried += 1
            try:
                return _item(result, pointer)
            except _EXTRACTION_ERRORS:
                continue
        if not tried:
            raise NotFound(
                "Mapped argument %r <= %r was not produced by any accessible provider "
                "(%d possible providers were scanned)" % (arg, name, len(providers))
            )
        raise NotFound(
            "Unable to find result %r, expected to be able to find it created by one of %s "
            "but was unable to perform successful extraction" % (name, [p[0] for p in providers])
        )

    def fetch_unsatisfied_args(
        self,
        atom_name: str,
        args_mapping: Mapping[str, str],
        scope_walker: ScopeWalker | None = None,
        optional_args: Iterable[str] | None = None,
    ) -> set[str]:
        """The arguments no injected value or (future) provider can satisfy."""
        optional = set(optional_args or ())
        with self._lock:
            sources = self._injected_sources(atom_name)
            scope = self._scope(atom_name, scope_walker)
            missing = set()
            for arg, name in args_mapping.items():
                if arg in optional or any(name in s for s in sources):
                    continue
                if self._default_values(name) or self._nearest(name, scope, potentials=True):
                    continue
                missing.add(arg)
        return missing
