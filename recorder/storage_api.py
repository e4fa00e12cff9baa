"""TaskFlow's ``Storage`` surface on recorder's storage: results, progress, injection.

:class:`~recorder.storage.Storage` mixes this in. Every method here keeps
recorder's write discipline: a change is applied in memory with an
:class:`~recorder.undo.UndoLog` and written as ops (through
:meth:`Storage.change_atom` or :meth:`Storage._write`), so a failed write puts
memory back. The engine's own hot path does not go through these methods.

Where values come from, as in TaskFlow: atom-specific injected arguments
(transient, then persistent in the atom's ``injected`` meta), then flow-level
injected values (transient, then the persisted store), then the atoms that
provide the name, nearest scope first when a scope walker is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.exceptions import DisallowedAccess, NotFound
from recorder.failure import Failure
from recorder.persistence.copying import copy_value
from recorder.persistence.models import RETRY, AtomDetail
from recorder.persistence.ops import UpdateAtom
from recorder.retry import History
from recorder.undo import UndoLog

if TYPE_CHECKING:
    from recorder.persistence.base import Backend
    from recorder.persistence.models import FlowDetail
    from recorder.persistence.ops import Op

META_INJECTED = "injected"
META_PROGRESS = "progress"
META_PROGRESS_DETAILS = "progress_details"

EXECUTE_STATES_WITH_RESULTS = (states.SUCCESS, states.FAILURE, states.REVERTING, states.RETRYING)
REVERT_STATES_WITH_RESULTS = (states.REVERTED, states.REVERT_FAILURE, states.REVERTING)
_EXTRACTION_ERRORS = (IndexError, KeyError, ValueError, TypeError)

# Provider names of flow-level values (never an atom name: they are not strings).
TRANSIENT = ("transient",)
STORE = ("store",)

ScopeWalker = Iterable[Iterable[str]]


def put_changes(detail: AtomDetail, state: str, result: Any) -> dict[str, Any]:
    """The field changes that saving ``result`` in ``state`` makes (TaskFlow's ``put``)."""
    retry = detail.kind == RETRY
    changes: dict[str, Any] = {"state": state}
    cleared: tuple[str, ...]
    if state == states.REVERT_FAILURE:
        changes["revert_failure"] = result
        cleared = ("revert_results",) if retry else ("results", "revert_results")
    elif state == states.FAILURE:
        changes["failure"] = result
        cleared = ("revert_results", "revert_failure")
        if not retry:
            cleared += ("results",)
    elif state == states.SUCCESS:
        cleared = ("failure", "revert_failure", "revert_results")
        history = list(detail.results or []) if retry else None
        changes["results"] = [*history, (result, {})] if history is not None else result
    elif state == states.REVERTED:
        changes["revert_results"] = result
        cleared = ("revert_failure",)
    else:
        cleared = ()
    for name in cleared:
        if getattr(detail, name) is not None:
            changes[name] = None
    return changes


def _item(container: Any, index: Any) -> Any:
    return container if index is None else container[index]


def _version_string(version: Any) -> str:
    if isinstance(version, (tuple, list)):
        return ".".join(str(part) for part in version)
    return str(version)


class StorageAPI:
    """The TaskFlow-named part of :class:`~recorder.storage.Storage`."""

    # Provided by Storage.
    _flow: FlowDetail
    _backend: Backend | None
    _lock: threading.RLock
    _store: dict[str, Any]
    _providers: dict[str, list[tuple[str, Any]]]
    _transients: dict[str, Any]
    _injected_args: dict[str, dict[str, Any]]
    _scope_fetcher: Callable[[str], ScopeWalker | None]

    if TYPE_CHECKING:

        def atom_detail(self, name: str) -> AtomDetail: ...
        def change_atom(
            self, detail: AtomDetail, timestamp: float, changes: Mapping[str, Any]
        ) -> None: ...
        def update_atom_metadata(self, name: str, update_with: Mapping[str, Any]) -> None: ...
        def get_flow_state(self) -> str: ...
        def ensure_atom(self, atom: Any) -> str: ...
        def set_flow_state(self, state: str) -> None: ...
        def _write(self, ops: Sequence[Op], undo: UndoLog | None = None) -> None: ...

    # -- identity ----------------------------------------------------------------

    @property
    def _flowdetail(self) -> Any:
        """TaskFlow's name for the flow detail (some TaskFlow code reads it)."""
        return self._flow

    @property
    def lock(self) -> threading.RLock:
        """The lock that guards this storage's memory."""
        return self._lock

    def ensure_atoms(self, atoms: Iterable[Any]) -> list[str]:
        """Ensure an atom detail for each atom; their uuids, in order."""
        return [self.ensure_atom(atom) for atom in atoms]

    # -- atom state --------------------------------------------------------------

    def _set_fields(self, name: str, changes: Mapping[str, Any]) -> None:
        detail = self.atom_detail(name)
        changed = {k: v for k, v in changes.items() if getattr(detail, k) != v}
        if changed:
            with self._lock:
                self.change_atom(detail, _now(), changed)

    def set_atom_state(self, atom_name: str, state: str) -> None:
        self._set_fields(atom_name, {"state": state})

    def set_atom_intention(self, atom_name: str, intention: str) -> None:
        self._set_fields(atom_name, {"intention": intention})

    def get_atoms_states(self, atom_names: Iterable[str]) -> dict[str, tuple[str | None, str]]:
        """Atom name to ``(state, intention)``."""
        found = {}
        for name in set(atom_names):
            detail = self.atom_detail(name)
            found[name] = (detail.state, detail.intention)
        return found

    def save(self, atom_name: str, result: Any, state: str = states.SUCCESS) -> None:
        """Store ``result`` of atom ``atom_name`` obtained in ``state`` (TaskFlow's ``save``)."""
        with self._lock:
            detail = self.atom_detail(atom_name)
            self.change_atom(detail, _now(), put_changes(detail, state, result))

    def save_retry_failure(self, retry_name: str, failed_atom_name: str, failure: Failure) -> None:
        """Add ``failure`` of ``failed_atom_name`` to the retry's latest history entry."""
        with self._lock:
            detail = self._retry_detail(retry_name)
            history = list(detail.results or [])
            if not history:
                raise NotFound("retry %r has no history to add a failure to" % retry_name)
            result, failures = history[-1]
            if failed_atom_name in failures:
                return
            history[-1] = (result, {**failures, failed_atom_name: failure})
            self.change_atom(detail, _now(), {"results": history})

    def cleanup_retry_history(self, retry_name: str, state: str) -> None:
        """Forget the retry's history and move it to ``state``."""
        with self._lock:
            detail = self._retry_detail(retry_name)
            self.change_atom(detail, _now(), {"state": state, "results": []})

    def reset(self, atom_name: str, state: str = states.PENDING) -> None:
        """Clear the atom's results and failures and move it to ``state`` (intention EXECUTE)."""
        with self._lock:
            detail = self.atom_detail(atom_name)
            if detail.state == state:
                return
            changes: dict[str, Any] = {
                "state": state,
                "intention": states.EXECUTE,
                "results": [] if detail.kind == RETRY else None,
            }
            for field in ("failure", "revert_results", "revert_failure"):
                if getattr(detail, field) is not None:
                    changes[field] = None
            self.change_atom(detail, _now(), changes)

    # -- results -----------------------------------------------------------------

    def _retry_detail(self, name: str) -> AtomDetail:
        detail = self.atom_detail(name)
        if detail.kind != RETRY:
            raise TypeError("Atom %r is not of the expected type: RetryDetail" % name)
        return detail

    def _task_detail(self, name: str) -> AtomDetail:
        detail = self.atom_detail(name)
        if detail.kind == RETRY:
            raise TypeError("Atom %r is not of the expected type: TaskDetail" % name)
        return detail

    def _result(self, name: str, last: bool) -> Any:
        """What atom ``name`` produced on execute: its failure, else its result."""
        detail = self.atom_detail(name)
        if detail.failure is not None:
            return detail.failure
        if detail.state not in EXECUTE_STATES_WITH_RESULTS:
            raise DisallowedAccess(
                "Result for atom %r is not known/accessible: it is %s" % (name, detail.state),
                state=detail.state,
            )
        if detail.kind == RETRY and last:
            history = detail.results or []
            if not history:
                raise NotFound("Result for atom %r execution is not known (no history)" % name)
            return history[-1][0]
        return detail.results

    def get_execute_result(self, atom_name: str) -> Any:
        """The atom's execute result (its Failure when execute failed); NotFound if none."""
        try:
            return self._result(atom_name, last=True)
        except DisallowedAccess as exc:
            why = " (as it was ignored)" if exc.state == states.IGNORE else ""
            raise NotFound(
                "Result for atom %r execution is not known%s" % (atom_name, why)
            ) from exc

    def get_revert_result(self, atom_name: str) -> Any:
        """The atom's revert result (its Failure when revert failed); NotFound if none."""
        detail = self.atom_detail(atom_name)
        if detail.revert_failure is not None:
            return detail.revert_failure
        if detail.state not in REVERT_STATES_WITH_RESULTS:
            raise NotFound("Result for atom %r revert is not known" % atom_name)
        return detail.revert_results

    def get_execute_failures(self) -> dict[str, Failure]:
        """Atom name to the failure of every atom whose execute failed."""
        return {
            detail.name: detail.failure
            for detail in list(self._flow.atoms.values())
            if isinstance(detail.failure, Failure)
        }

    get_failures = get_execute_failures
    get = get_execute_result

    def get_revert_failures(self) -> dict[str, Failure]:
        """Atom name to the failure of every atom whose revert failed."""
        return {
            detail.name: detail.revert_failure
            for detail in list(self._flow.atoms.values())
            if isinstance(detail.revert_failure, Failure)
        }

    def has_failures(self) -> bool:
        return any(
            d.failure is not None or d.revert_failure is not None
            for d in list(self._flow.atoms.values())
        )

    def get_retry_history(self, retry_name: str) -> History:
        detail = self._retry_detail(retry_name)
        failure = detail.failure if isinstance(detail.failure, Failure) else None
        return History([(r, f) for r, f in (detail.results or [])], failure=failure)

    def get_retry_histories(self) -> list[tuple[str, History]]:
        """``(name, history)`` of every retry atom."""
        return [
            (d.name, self.get_retry_history(d.name))
            for d in list(self._flow.atoms.values())
            if d.kind == RETRY
        ]

    # -- progress ----------------------------------------------------------------

    def set_task_progress(self, task_name: str, progress: float, details: Any = None) -> None:
        """Store the task's progress (0.0 to 1.0) and, when given, its details."""
        self._task_detail(task_name)
        update: dict[str, Any] = {META_PROGRESS: progress}
        if details is not None:
            update[META_PROGRESS_DETAILS] = (
                {"at_progress": progress, "details": details} if details else None
            )
        self.update_atom_metadata(task_name, update)

    def get_task_progress(self, task_name: str) -> float:
        value: float = self._task_detail(task_name).meta.get(META_PROGRESS, 0.0)
        return value

    def get_task_progress_details(self, task_name: str) -> Any:
        return copy_value(self._task_detail(task_name).meta.get(META_PROGRESS_DETAILS))

    # -- injection ---------------------------------------------------------------

    def inject_atom_args(
        self, atom_name: str, pairs: Mapping[str, Any], transient: bool = True
    ) -> None:
        """Values for one atom's arguments only; they win over every other provider.

        ``transient=False`` persists them (in the atom's ``injected`` meta).
        """
        if atom_name not in self._flow.atoms:
            raise NotFound("Unknown atom name %r" % atom_name)
        with self._lock:
            if transient:
                self._injected_args.setdefault(atom_name, {}).update(pairs)
                return
            detail = self.atom_detail(atom_name)
            injected = {**(detail.meta.get(META_INJECTED) or {}), **dict(pairs)}
            patch = {META_INJECTED: copy_value(injected)}
            undo = UndoLog()
            undo.keys(detail.meta, patch)
            detail.meta.update(patch)
            if self._backend is not None:
                at = datetime.fromtimestamp(_now(), tz=timezone.utc)
                self._write([UpdateAtom(detail.uuid, at, {}, patch)], undo)

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

    # -- the flow ----------------------------------------------------------------

    def change_flow_state(self, state: str) -> tuple[bool, str]:
        """Move the flow to ``state``: ``(True, old)`` if it moved, ``(False, old)`` if
        the move is ignored; InvalidState if it is not allowed."""
        with self._lock:
            old = self.get_flow_state()
            if not states.check_flow_transition(old, state):
                return False, old
            self.set_flow_state(state)
            return True, old


def _now() -> float:
    return time.time()
