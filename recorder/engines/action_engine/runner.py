"""The run loop: schedule ready atoms, record each state change, handle failures.

Every state change happens on the engine's own thread, in this order: storage
(in memory) takes the new state, transition hooks add their audit rows, the
listeners are told; then the state change, its audit rows and whatever the
listeners wrote meanwhile go to the backend as one write (one transaction),
before the engine goes on. Atoms run inline (serial engine) or on an executor (parallel
engine); either way their outcome comes back here. Scheduling is O(atoms +
edges): each finished atom decrements its successors' counters of unfinished
predecessors.

On a failure no new atom starts; once running ones finish, the failure is
handled (:mod:`recorder.engines.action_engine.reverting`): the flow goes on
when a retry runs its scope again, else it ends REVERTED and ``run()``
re-raises the failure (a WrappedFailure for several), or FAILURE when a revert
raised (which is what ``run()`` raises then). A run of a stored flow starts
from where that was left (:mod:`recorder.engines.action_engine.resuming`).
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent import futures
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.engines.action_engine import events, resuming
from recorder.engines.action_engine.executing import Outcome, execute_atom
from recorder.engines.action_engine.reverting import Reverter, RevertFailed
from recorder.exceptions import EngineError
from recorder.failure import Failure
from recorder.persistence.models import AtomDetail
from recorder.retry import History, Retry
from recorder.storage import Transition, extract, latest_retry_result

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine

_CHECKS = {
    states.KIND_TASK: states.check_task_transition,
    states.KIND_RETRY: states.check_retry_transition,
}


class Runner:
    """One ``run()`` of an engine: owns the scheduling state for that run."""

    def __init__(self, engine: ActionEngine, executor: futures.Executor | None) -> None:
        self.engine = engine
        self.c = engine.compilation
        self.storage = engine.storage
        self.details: list[AtomDetail] = [
            self.storage.atom_detail(atom.name) for atom in self.c.atoms
        ]
        self.executor = executor
        self.deferring = self.storage.backend is not None
        self.ready: deque[int] = deque()
        self.remaining: list[int] = []
        self.running: dict[futures.Future[Outcome], int] = {}
        # Finished futures arrive here (cheaper than futures.wait per completion).
        self.done: queue.SimpleQueue[futures.Future[Outcome]] = queue.SimpleQueue()
        self.completed: list[int] = []  # atoms that ran, in the order they finished
        self.failed: list[int] = []
        self.interrupted: set[int] = set()  # left RUNNING or REVERTING by a crash
        self.reverter = Reverter(self)

    # -- announcing state changes --------------------------------------------

    @contextlib.contextmanager
    def _one_write(self) -> Iterator[None]:
        """Make a state change, its audit row and what listeners write on hearing
        it one backend write: one commit in durable mode, done before the engine
        goes on. (Storage in memory already has the new state when they hear.)"""
        if self.deferring:
            with self.storage.deferred_writes():
                yield
        else:
            yield

    def flow_to(self, new: str) -> bool:
        old = self.storage.get_flow_state()
        if not states.check_flow_transition(old, new):
            return False
        timestamp = time.time()
        name, uuid = self.storage.flow_name, self.storage.flow_uuid
        details = events.flow_details(self.engine, name, uuid, old, timestamp)
        transition = Transition(states.KIND_FLOW, name, None, old, new, timestamp, 0, details)
        with self._one_write():
            self.storage.set_flow_state(new, timestamp, transition)
            self.engine.notifier.notify(new, details)
        return True

    def atom_to(
        self,
        idx: int,
        new: str,
        timestamp: float | None = None,
        changes: Mapping[str, Any] | None = None,
        result: Any = None,
        after_crash: bool = False,
    ) -> None:
        """Move an atom to ``new``. ``after_crash``: it was left RUNNING by a crash
        and is reverted without running again (RUNNING -> REVERTING, a move a live
        run never makes; TaskFlow's storage makes it the same way on resume)."""
        detail = self.details[idx]
        old = detail.state
        if timestamp is None:
            timestamp = time.time()
        if not after_crash and not _CHECKS[detail.kind](old, new):
            if changes:
                rerun = None
                if new in events.RERUN_STATES and self.storage.wants_transitions:
                    attempt = int(changes.get("attempt", detail.attempt))
                    rerun = events.rerun_transition(
                        detail, new, timestamp, attempt, self.storage.flow_uuid
                    )
                self.storage.change_atom(detail, timestamp, changes, rerun)
            return
        all_changes = {"state": new}
        if changes:
            all_changes.update(changes)
        notifier = self.engine.atom_notifier
        hooked = self.storage.wants_transitions
        if not hooked and not notifier.has_listeners():
            # Nobody listens or records: skip building event details (the hot path).
            self.storage.change_atom(detail, timestamp, all_changes)
            return
        attempt = detail.attempt + 1 if new == states.RUNNING else detail.attempt
        details = events.atom_details(detail, old, timestamp, attempt, self.storage.flow_uuid)
        if new in states.RESULT_STATES:
            details["result"] = result
        transition = None
        if hooked:
            transition = Transition(
                detail.kind, detail.name, detail.uuid, old, new, timestamp, attempt, details
            )
        with self._one_write():
            self.storage.change_atom(detail, timestamp, all_changes, transition)
            notifier.notify(new, details)

    # -- arguments -------------------------------------------------------------

    def args_for(self, idx: int) -> dict[str, Any]:
        atom = self.c.atoms[idx]
        store = self.storage.store
        kwargs: dict[str, Any] = {}
        for source in self.c.arg_sources[idx]:
            if source.source == "inject":
                kwargs[source.arg] = atom.inject[source.arg]
            elif source.source == "store":
                kwargs[source.arg] = store[source.symbol]
            else:
                provider = self.details[source.provider]
                value = provider.results
                if provider.kind == states.KIND_RETRY:
                    value = latest_retry_result(value)
                kwargs[source.arg] = extract(value, source.pointer)
        return kwargs

    def history_of(self, idx: int) -> History:
        return History([(r, f) for r, f in (self.details[idx].results or [])])

    # -- scheduling ------------------------------------------------------------

    def compute_ready(self) -> None:
        details = self.details
        self.remaining = [
            sum(1 for p in preds if details[p].state not in states.DONE_STATES)
            for preds in self.c.preds
        ]
        self.ready = deque(
            i
            for i in self.c.order
            if self.remaining[i] == 0
            and details[i].state in (states.PENDING, states.RUNNING, states.RETRYING)
        )
        # What ran: finished atoms, and those a crash cut off (last: they ran latest).
        done = {i for i, d in enumerate(details) if d.state in (states.SUCCESS, states.FAILURE)}
        cut_off = [i for i in self.interrupted if details[i].state in resuming.CUT_OFF]
        done.update(cut_off)
        self.completed = [i for i in self.completed if i in done]
        known = set(self.completed)
        self.completed.extend(
            i for i in self.c.order if i in done and i not in known and i not in self.interrupted
        )
        self.completed.extend(i for i in sorted(cut_off) if i not in known)

    def start(self, idx: int) -> None:
        detail = self.details[idx]
        if idx in self.interrupted:  # runs again: no longer what a crash cut off
            self.interrupted.discard(idx)
            if idx in self.completed:
                self.completed.remove(idx)
        attempt = detail.attempt + 1
        self.atom_to(idx, states.RUNNING, changes={"intention": states.EXECUTE, "attempt": attempt})
        detail.attempt = attempt
        atom = self.c.atoms[idx]
        kwargs = self.args_for(idx)
        if isinstance(atom, Retry):
            kwargs["history"] = self.history_of(idx)
            self.finish(idx, execute_atom(atom, kwargs))
        elif self.executor is None:
            self.finish(idx, execute_atom(atom, kwargs))
        else:
            future = self.executor.submit(execute_atom, atom, kwargs)
            self.running[future] = idx
            future.add_done_callback(self.done.put)

    def finish(self, idx: int, outcome: Outcome) -> None:
        detail = self.details[idx]
        self.completed.append(idx)
        if not outcome.ok:
            self.failed.append(idx)
            self.atom_to(
                idx,
                states.FAILURE,
                outcome.finished_at,
                {"failure": outcome.value},
                result=outcome.value,
            )
            return
        if detail.kind == states.KIND_RETRY:
            changes = {"results": [*(detail.results or []), (outcome.value, {})], "failure": None}
        else:
            changes = {"results": outcome.value, "failure": None}
        self.atom_to(idx, states.SUCCESS, outcome.finished_at, changes, result=outcome.value)
        for succ in self.c.succs[idx]:
            self.remaining[succ] -= 1
            if self.remaining[succ] == 0 and self.details[succ].state in (
                states.PENDING,
                states.RETRYING,
            ):
                self.ready.append(succ)

    def wait_running(self) -> None:
        done = [self.done.get()]
        while True:
            try:
                done.append(self.done.get_nowait())
            except queue.Empty:
                break
        # Record completions in the order they happened, not the order noticed.
        for future in sorted(done, key=lambda f: f.result().finished_at):
            idx = self.running.pop(future)
            self.finish(idx, future.result())

    def drain(self) -> None:
        while self.running:
            self.wait_running()

    # -- the whole run ---------------------------------------------------------

    def run(self) -> None:
        resuming.begin(self)
        self.interrupted, self.failed = resuming.pick_up(self)
        self.compute_ready()
        try:
            self._loop()
        finally:
            self.drain()

    def _loop(self) -> None:
        engine = self.engine
        while True:
            while self.ready and not self.failed and not engine.suspend_requested:
                if self.executor is not None and len(self.running) >= engine.max_workers:
                    break
                self.start(self.ready.popleft())
            if self.running:
                self.wait_running()
                continue
            if self.failed:
                failed, self.failed = self.failed, []
                failures = [self.details[i].failure for i in failed]
                try:
                    go_on = self.reverter.resolve(failed)
                except RevertFailed as revert_failed:
                    self.flow_to(states.FAILURE)
                    revert_failed.failure.reraise()
                if go_on:
                    self.compute_ready()
                    continue
                self.flow_to(states.REVERTED)
                Failure.reraise_if_any(failures)
            if engine.suspend_requested and any(
                d.state not in states.DONE_STATES for d in self.details
            ):
                self.flow_to(states.SUSPENDING)
                self.flow_to(states.SUSPENDED)
                return
            if not self.ready:
                unfinished = [d.name for d in self.details if d.state not in states.DONE_STATES]
                if unfinished:
                    raise EngineError(
                        "flow %r stalled with atoms that can never run: %s"
                        % (self.storage.flow_name, ", ".join(unfinished))
                    )
                self.flow_to(states.SUCCESS)
                return
