"""Handling failures: revert what ran, let the retry in charge decide, reset for a retry.

The failed atoms are reverted first, then the retry that controls them decides
(see :mod:`recorder.retry`); without one, everything that ran is reverted in
the reverse order it finished. A retry that gives up with REVERT reverts its own
scope only (as TaskFlow), unless a retry above decides RETRY or REVERT_ALL; the
``defer_reverts`` engine option hands such a REVERT up to the retry above.
"What ran" includes atoms a crash cut off while running or reverting (their
side effects may have happened), so a resumed run reverts them too instead of
running them first. A revert that raises leaves its atom in REVERT_FAILURE and
stops reverting (:class:`RevertFailed`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.engines.action_engine.executing import revert_atom
from recorder.exceptions import EngineError, InvariantViolation, NotFound
from recorder.failure import Failure
from recorder.retry import Decision, Retry
from recorder.storage import latest_retry_result
from recorder.task import Task

if TYPE_CHECKING:
    from recorder.engines.action_engine.runner import Runner

LOG = logging.getLogger(__name__)

_REVERTIBLE = frozenset({states.SUCCESS, states.FAILURE, states.REVERTING})


class RevertFailed(EngineError):
    """A revert failed: the run stops reverting and re-raises ``failure`` (internal)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__("revert failed: %s" % failure.exception_str)
        self.failure = failure


class RevertSuspended(EngineError):
    """The engine was asked to suspend while reverting: the rest waits for a resume
    (internal; the failures stay recorded, so the resumed run goes on reverting)."""


class Reverter:
    """The failure handling of one run (it shares the run's atoms and their order)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.c = runner.c
        self.details = runner.details

    def revert(self, idx: int, flow_failures: dict[str, Failure]) -> None:
        runner = self.runner
        detail = self.details[idx]
        cut_off = idx in runner.interrupted and detail.state == states.RUNNING
        if not self._revertible(idx):
            return
        if cut_off:
            result: Any = None  # its execute never returned
        elif detail.kind == states.KIND_RETRY and detail.state != states.FAILURE:
            result = latest_retry_result(detail.results)
        else:
            # As TaskFlow: a failed atom's revert gets its failure (also when a crash
            # cut off that revert and it runs again), a successful one its result.
            result = detail.failure if detail.failure is not None else detail.results
        atom = self.c.atoms[idx]
        task = atom if isinstance(atom, Task) else None
        runner.atom_to(
            idx,
            states.REVERTING,
            changes={"intention": states.REVERT},
            after_crash=cut_off,
            meta=runner.progress_meta(idx, 0.0) if task else None,
        )
        if task:
            runner.tell_progress(task, 0.0)
        kwargs = _revert_args(runner, idx)
        if isinstance(atom, Retry):
            kwargs["history"] = runner.history_of(idx)
        outcome = revert_atom(
            atom, kwargs, {"result": result, "flow_failures": dict(flow_failures)}
        )
        if outcome.ok:
            runner.atom_to(
                idx,
                states.REVERTED,
                outcome.finished_at,
                {"revert_results": outcome.value},
                result=outcome.value,
                meta=runner.progress_meta(idx, 1.0) if task else None,
            )
            if task:
                runner.tell_progress(task, 1.0)
        else:
            runner.atom_to(
                idx,
                states.REVERT_FAILURE,
                outcome.finished_at,
                {"revert_failure": outcome.value},
                result=outcome.value,
            )
            raise RevertFailed(outcome.value)

    def revert_all_in(self, members: set[int] | None, flow_failures: dict[str, Failure]) -> None:
        """Revert what ran (in ``members``, or everywhere), latest finished first."""
        suspend_requested = self.runner.setup.suspend_requested
        for idx in reversed(list(self.runner.completed)):
            if members is None or idx in members:
                if suspend_requested() and self._revertible(idx):
                    raise RevertSuspended("suspended while reverting")
                self.revert(idx, flow_failures)

    def affected_by(self, controller: int) -> set[int]:
        """A retry's scope and every atom that runs after the retry (TaskFlow's
        subgraph of the retry): redoing the scope makes their inputs stale."""
        found: set[int] = set()
        stack = [*self.c.scope.get(controller, []), *self.c.succs[controller]]
        while stack:
            idx = stack.pop()
            if idx not in found:
                found.add(idx)
                stack.extend(self.c.succs[idx])
        return found

    def _revertible(self, idx: int) -> bool:
        state = self.details[idx].state
        return state in _REVERTIBLE or (idx in self.runner.interrupted and state == states.RUNNING)

    def reset(self, members: Iterable[int], every_state: bool = False) -> None:
        """Move reverted (and ignored) atoms back to PENDING; ``every_state``: every
        atom that is not PENDING already (an engine's ``reset()``)."""
        for idx in members:
            detail = self.details[idx]
            if detail.state in (states.REVERTED, states.IGNORE) or (
                every_state and detail.state != states.PENDING
            ):
                changes: dict[str, Any] = {
                    "intention": states.EXECUTE,
                    "results": [] if detail.kind == states.KIND_RETRY else None,
                    "failure": None,
                    "revert_results": None,
                    "revert_failure": None,
                }
                self.runner.atom_to(idx, states.PENDING, changes=changes)

    def resolve(self, failed: list[int], gone: dict[str, Failure] | None = None) -> bool:
        """Handle failures (``gone``: of atoms the flow no longer has); True when a retry
        lets the run go on, False when it must end."""
        runner = self.runner
        flow_failures: dict[str, Failure] = dict(gone or {})
        for i in failed:
            failure = self.details[i].failure
            if failure is not None:
                flow_failures[self.c.atoms[i].name] = failure
        for idx in failed:
            self.revert(idx, flow_failures)
        controllers = {self.c.retry_of[i] for i in failed}
        # Failures under different retries at once (parallel engine): no single
        # retry can decide for all of them, so everything is reverted.
        controller = controllers.pop() if len(controllers) == 1 else None
        # As TaskFlow's Completer: a retry that gives up with REVERT reverts its own
        # scope; the retries above are asked too, and one deciding RETRY or REVERT_ALL
        # wins. With ``defer_reverts`` the REVERT goes up instead, to everything when
        # no retry above is left.
        first_revert: int | None = None
        while controller is not None:
            decision = self._decide(controller, flow_failures)
            members = self.c.scope.get(controller, [])
            if decision == Decision.RETRY:
                # As TaskFlow: what depends on the retry's scope is redone too.
                affected = self.affected_by(controller)
                self.revert_all_in(affected, flow_failures)
                runner.atom_to(controller, states.RETRYING, changes={"intention": states.RETRY})
                self.reset(sorted(affected))
                return True
            if decision == Decision.REVERT_ALL:
                break
            if first_revert is None or runner.setup.defer_reverts:
                self.revert_all_in({controller, *members}, flow_failures)
            if first_revert is None:
                first_revert = controller
            controller = self.c.retry_of[controller]
        else:
            if first_revert is not None and not runner.setup.defer_reverts:
                return False  # only the scope of the retry that gave up is reverted
        self.revert_all_in(None, flow_failures)
        return False

    def _decide(self, controller: int, flow_failures: dict[str, Failure]) -> Decision:
        """Record the failures in the retry's history and ask it what to do."""
        retry_atom = self.c.atoms[controller]
        if not isinstance(retry_atom, Retry):
            raise InvariantViolation(
                "atom %r controls a scope but is not a retry" % (retry_atom.name,)
            )
        runner = self.runner
        detail = self.details[controller]
        history = list(detail.results or [])
        if history:
            last_result, last_failures = history[-1]
            history[-1] = (last_result, {**last_failures, **flow_failures})
            runner.storage.change_atom(detail, time.time(), {"results": history})
        kwargs = runner.args_for(controller)
        kwargs["history"] = runner.history_of(controller)
        try:
            return retry_atom.on_failure(**kwargs)
        except Exception:
            LOG.warning(
                "retry %r: on_failure raised; reverting the whole flow",
                retry_atom.name,
                exc_info=True,
            )
            return Decision.REVERT_ALL


def _revert_args(runner: Runner, idx: int) -> dict[str, Any]:
    """Revert's arguments by its own mapping (``revert_rebind``), as TaskFlow's.

    A symbol execute also used has the value execute got; any other is fetched
    from storage, and left out when nothing stored it (an optional argument).
    """
    atom = runner.c.atoms[idx]
    kwargs = runner.args_for(idx)
    if atom.revert_rebind == atom.rebind:
        return kwargs
    by_symbol = {
        source.symbol: kwargs[source.arg]
        for source in runner.c.arg_sources[idx]
        if source.arg in kwargs
    }
    revert_kwargs: dict[str, Any] = {}
    for arg, symbol in atom.revert_rebind.items():
        if symbol in atom.inject:
            revert_kwargs[arg] = atom.inject[symbol]
        elif symbol in by_symbol:
            revert_kwargs[arg] = by_symbol[symbol]
        else:
            try:
                revert_kwargs[arg] = runner.storage.fetch(symbol)
            except NotFound:
                continue
    return revert_kwargs
