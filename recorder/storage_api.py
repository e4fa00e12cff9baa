"""TaskFlow's ``Storage`` surface on recorder's storage: results, progress, injection.

:class:`~recorder.storage.Storage` mixes this in. Every method here keeps
recorder's write discipline: a change is applied in memory with an
:class:`~recorder.undo.UndoLog` and written as ops (through
:meth:`Storage.change_atom` or :meth:`Storage._write`), so a failed write puts
memory back. The engine's own hot path does not go through these methods.

Value lookups (``fetch`` and friends) are in :mod:`recorder.storage_fetch`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.exceptions import DisallowedAccess, InvalidType, NotFound
from recorder.failure import Failure
from recorder.persistence.copying import copy_value
from recorder.persistence.models import RETRY, AtomDetail
from recorder.persistence.ops import UpdateAtom
from recorder.retry import History
from recorder.storage_fetch import EXECUTE_STATES_WITH_RESULTS, META_INJECTED, FetchAPI
from recorder.storage_writes import to_datetime
from recorder.undo import UndoLog

if TYPE_CHECKING:
    from recorder.persistence.base import Backend
    from recorder.persistence.ops import Op

META_PROGRESS = "progress"
META_PROGRESS_DETAILS = "progress_details"

REVERT_STATES_WITH_RESULTS = (states.REVERTED, states.REVERT_FAILURE, states.REVERTING)


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


def _version_string(version: Any) -> str:
    if isinstance(version, (tuple, list)):
        return ".".join(str(part) for part in version)
    return str(version)


class StorageAPI(FetchAPI):
    """The TaskFlow-named part of :class:`~recorder.storage.Storage`."""

    # Provided by Storage.
    _backend: Backend | None

    #: TaskFlow's name for the atom that holds the flow-level injected values
    #: (recorder keeps them in the flow's meta; ``save`` under it replaces them).
    injector_name = "_TaskFlow_INJECTOR"

    if TYPE_CHECKING:

        def change_atom(
            self, detail: AtomDetail, timestamp: float, changes: Mapping[str, Any]
        ) -> None: ...
        def update_atom_metadata(self, name: str, update_with: Mapping[str, Any]) -> None: ...
        def get_flow_state(self) -> str: ...
        def ensure_atom(self, atom: Any) -> str: ...
        def set_flow_state(self, state: str) -> None: ...
        def replace_store(self, values: Mapping[str, Any]) -> None: ...
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
        """Store ``result`` of atom ``atom_name`` obtained in ``state`` (TaskFlow's ``save``).

        Saving a mapping as the result of :attr:`injector_name` replaces the
        flow-level injected values, as on TaskFlow.
        """
        if atom_name == self.injector_name:
            if not isinstance(result, Mapping):
                raise InvalidType("the injected values must be a mapping, got %r" % (result,))
            self.replace_store(result)
            return
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
            raise InvalidType("Atom %r is not of the expected type: RetryDetail" % name)
        return detail

    def _task_detail(self, name: str) -> AtomDetail:
        detail = self.atom_detail(name)
        if detail.kind == RETRY:
            raise InvalidType("Atom %r is not of the expected type: TaskDetail" % name)
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
                self._write([UpdateAtom(detail.uuid, to_datetime(_now()), {}, patch)], undo)

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
