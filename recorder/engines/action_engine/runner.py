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
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from recorder import states
from recorder.engines.action_engine import deciding, events, resuming
from recorder.engines.action_engine.executing import Outcome, execute_atom
from recorder.engines.action_engine.reverting import Reverter
from recorder.engines.compiler import ArgSource, Compilation
from recorder.exceptions import InvalidState
from recorder.failure import Failure
from recorder.notifier import Notifier
from recorder.persistence.models import AtomDetail
from recorder.retry import History, Retry
from recorder.storage import Storage, Transition, extract, latest_retry_result
from recorder.storage_api import META_PROGRESS
from recorder.task import EVENT_UPDATE_PROGRESS, Task

_MOVES = {states.KIND_TASK: states.TASK_TRANSITIONS, states.KIND_RETRY: states.RETRY_TRANSITIONS}
_DONE_STATES = frozenset({states.SUCCESS, states.IGNORE})
# A task's progress as the engine sets it when it starts and ends (TaskFlow's).
_PROGRESS_START: Mapping[str, float] = MappingProxyType({META_PROGRESS: 0.0})
_PROGRESS_END: Mapping[str, float] = MappingProxyType({META_PROGRESS: 1.0})
_STARTABLE = frozenset({states.PENDING, states.RUNNING, states.RETRYING})
_NO_BATCH = contextlib.nullcontext()  # the write path without a backend: nothing to gather


@dataclass(frozen=True)
class RunSetup:
    """What one run needs from its engine, handed over once instead of reached for.

    (The compiled build reads these annotations at run time: their types are
    imported at run time, and ``announcer``, any object, is ``Any``.)"""

    compilation: Compilation
    storage: Storage
    notifier: Notifier  # flow events
    atom_notifier: Notifier  # task and retry events
    announcer: Any  # the ``engine`` listeners find in a flow event's details
    max_workers: int
    suspend_requested: Callable[[], bool]
    suspend: Callable[[], None]
    # TaskFlow's engine option: a retry that gives up with REVERT defers to the one
    # above it (and with none above, everything is reverted); without it only the
    # retry's own scope is reverted unless a retry above decides RETRY or REVERT_ALL.
    defer_reverts: bool = False


class Runner:
    """One ``run()`` of an engine: owns the scheduling state for that run."""

    def __init__(self, setup: RunSetup, executor: futures.Executor | None) -> None:
        self.setup = setup
        self.c = setup.compilation
        self.storage = setup.storage
        self.details: list[AtomDetail] = [
            self.storage.atom_detail(atom.name) for atom in self.c.atoms
        ]
        self.executor = executor
        self.deferring = self.storage.backend is not None
        self.ready: deque[int] = deque()
        # Whether any atom has a priority (then ready atoms start highest first).
        self.prioritized = any(atom.priority for atom in self.c.atoms)
        self.remaining: list[int] = []
        self.running: dict[futures.Future[Outcome], int] = {}
        self.inline: list[tuple[int, Outcome]] = []  # ran on this thread, not yet recorded
        self.arrived: list[futures.Future[Outcome]] = []  # finished, not yet recorded
        # Finished futures arrive here (cheaper than futures.wait per completion).
        self.done: queue.SimpleQueue[futures.Future[Outcome]] = queue.SimpleQueue()
        self.completed: list[int] = []  # atoms that ran, in the order they finished
        self.failed: list[int] = []
        self.gone: dict[str, Failure] = {}  # failures of stored atoms the flow lost
        self.interrupted: set[int] = set()  # left RUNNING or REVERTING by a crash
        self.reverter = Reverter(self)

    # -- announcing state changes --------------------------------------------

    def _one_write(self) -> contextlib.AbstractContextManager[None]:
        """Make a state change, its audit row and what listeners write on hearing
        it one backend write: one commit in durable mode, done before the engine
        goes on. (Storage in memory already has the new state when they hear.)"""
        return self.storage.deferred_writes() if self.deferring else _NO_BATCH

    def flow_to(self, new: str, announce: bool = True) -> bool:
        """Move the flow to ``new`` (stored, with its trail row); listeners hear it
        unless ``announce`` is False (the crash markers of a resumed run: stored so
        the trail and the timeline show the crash, silent as TaskFlow's engine is)."""
        old = self.storage.get_flow_state()
        if not states.check_flow_transition(old, new):
            return False
        timestamp = time.time()
        name, uuid = self.storage.flow_name, self.storage.flow_uuid
        details = events.flow_details(self.setup.announcer, name, uuid, old, timestamp)
        transition = Transition(states.KIND_FLOW, name, None, old, new, timestamp, 0, details)
        with self._one_write():
            self.storage.set_flow_state(new, timestamp, transition)
            if announce:
                self.setup.notifier.notify(new, details)
        return True

    def atom_to(
        self,
        idx: int,
        new: str,
        timestamp: float | None = None,
        changes: Mapping[str, Any] | None = None,
        result: Any = None,
        after_crash: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Move an atom to ``new``. ``after_crash``: it was left RUNNING by a crash
        and is reverted without running again (RUNNING -> REVERTING, a move a live
        run never makes; TaskFlow's storage makes it the same way on resume).
        ``meta``: top-level meta keys stored with the move."""
        detail = self.details[idx]
        old = detail.state
        if timestamp is None:
            timestamp = time.time()
        if old == new and not after_crash:
            if changes or meta:
                rerun = None
                if new in events.RERUN_STATES and self.storage.wants_transitions:
                    attempt = int((changes or {}).get("attempt", detail.attempt))
                    rerun = events.rerun_transition(
                        detail, new, timestamp, attempt, self.storage.flow_uuid
                    )
                self.storage.change_atom(detail, timestamp, changes or {}, rerun, meta)
            return
        if not after_crash and new != states.PENDING and (old, new) not in _MOVES[detail.kind]:
            # (A reset moves an atom from any state back to PENDING, as TaskFlow's.)
            raise InvalidState(
                "%s %r cannot move from state %r to state %r" % (detail.kind, detail.name, old, new)
            )
        all_changes = {"state": new}
        if changes:
            all_changes.update(changes)
        notifier = self.setup.atom_notifier
        hooked = self.storage.wants_transitions
        if not hooked and not notifier.has_listeners():
            # Nobody listens or records: skip building event details (the hot path).
            self.storage.change_atom(detail, timestamp, all_changes, None, meta)
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
            self.storage.change_atom(detail, timestamp, all_changes, transition, meta)
            notifier.notify(new, details)

    def progress_meta(self, idx: int, progress: float) -> dict[str, float] | None:
        """The meta a move that sets a task's progress stores (None: unchanged)."""
        if self.details[idx].meta.get(META_PROGRESS, 0.0) == progress:
            return None
        return {META_PROGRESS: progress}

    def tell_progress(self, atom: Task, progress: float) -> None:
        """Tell a task's progress listeners, as TaskFlow's engine does at the start and
        end of execute and revert (skipped when only the engine's own listens)."""
        if len(atom.notifier) > 1:
            atom.notifier.notify(EVENT_UPDATE_PROGRESS, {"progress": progress})

    # -- arguments -------------------------------------------------------------

    def args_for(self, idx: int) -> dict[str, Any]:
        atom = self.c.atoms[idx]
        store = self.storage.store
        kwargs: dict[str, Any] = {}
        for source in self.c.arg_sources[idx]:
            if source.source == "inject":
                kwargs[source.arg] = atom.inject[source.symbol]
            elif source.source == "store":
                kwargs[source.arg] = store[source.symbol]
            else:
                provider = self.details[source.provider]
                if provider.state == states.IGNORE:  # a decider skipped it
                    self._fallback_arg(kwargs, source, store)
                    continue
                value = provider.results
                if provider.kind == states.KIND_RETRY:
                    value = latest_retry_result(value)
                kwargs[source.arg] = extract(value, source.pointer)
        return kwargs

    def _fallback_arg(
        self, kwargs: dict[str, Any], source: ArgSource, store: Mapping[str, Any]
    ) -> None:
        """The nearest provider was skipped: the next one that ran, else the store,
        else nothing (execute then gets its default, or fails to run)."""
        for idx, pointer in source.fallbacks:
            provider = self.details[idx]
            if provider.state != states.IGNORE:
                value = provider.results
                if provider.kind == states.KIND_RETRY:
                    value = latest_retry_result(value)
                kwargs[source.arg] = extract(value, pointer)
                return
        if source.symbol in store:
            kwargs[source.arg] = store[source.symbol]

    def history_of(self, idx: int) -> History:
        detail = self.details[idx]  # its failure: the retry's own, as TaskFlow's history
        return History([(r, f) for r, f in (detail.results or [])], failure=detail.failure)

    # -- scheduling ------------------------------------------------------------

    def compute_ready(self) -> None:
        details = self.details
        self.remaining = [
            sum(1 for p in preds if details[p].state not in states.DONE_STATES)
            for preds in self.c.preds
        ]
        self.ready = deque()
        for i in self.c.order:
            if self.remaining[i] == 0 and details[i].state in _STARTABLE:
                if details[i].state != states.RUNNING and i in self.c.deciders:
                    deciding.admit(self, i)
                else:
                    self.ready.append(i)
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
        atom = self.c.atoms[idx]
        changes = {"intention": states.EXECUTE, "attempt": attempt}
        if isinstance(atom, Task):  # (the hot path: progress_meta/tell_progress inlined)
            meta = None if detail.meta.get(META_PROGRESS, 0.0) == 0.0 else _PROGRESS_START
            self.atom_to(idx, states.RUNNING, changes=changes, meta=meta)
            notifier = atom.notifier
            if len(notifier) > 1:
                notifier.notify(EVENT_UPDATE_PROGRESS, dict(_PROGRESS_START))
        else:
            self.atom_to(idx, states.RUNNING, changes=changes)
        detail.attempt = attempt
        kwargs = self.args_for(idx)
        if isinstance(atom, Retry):
            kwargs["history"] = self.history_of(idx)
            self.inline.append((idx, execute_atom(atom, kwargs)))
        elif self.executor is None:
            self.inline.append((idx, execute_atom(atom, kwargs)))
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
        finished_at = outcome.finished_at
        atom = self.c.atoms[idx]
        if isinstance(atom, Task):
            changes = {"results": outcome.value, "failure": None}
            meta = None if detail.meta.get(META_PROGRESS, 0.0) == 1.0 else _PROGRESS_END
            self.atom_to(idx, states.SUCCESS, finished_at, changes, outcome.value, meta=meta)
            notifier = atom.notifier
            if len(notifier) > 1:
                notifier.notify(EVENT_UPDATE_PROGRESS, dict(_PROGRESS_END))
        else:
            changes = {"results": [*(detail.results or []), (outcome.value, {})], "failure": None}
            self.atom_to(idx, states.SUCCESS, finished_at, changes, outcome.value)
        deciders = self.c.deciders
        for succ in self.c.succs[idx]:
            self.remaining[succ] -= 1
            if self.remaining[succ] == 0 and self.details[succ].state in (
                states.PENDING,
                states.RETRYING,
            ):
                if deciders and succ in deciders:
                    deciding.admit(self, succ)
                else:
                    self.ready.append(succ)

    def wait_running(self) -> None:
        """Wait until at least one submitted atom finished; take every finished one."""
        done = [self.done.get()]
        while True:
            try:
                done.append(self.done.get_nowait())
            except queue.Empty:
                break
        self.arrived.extend(done)

    def complete(self) -> None:
        """Record what finished since the last time: atoms run inline first (in the
        order they ran), then those from the executor in the order they ended."""
        inline, self.inline = self.inline, []
        for idx, outcome in inline:
            self.finish(idx, outcome)
        if self.arrived:
            arrived, self.arrived = self.arrived, []
            for future in sorted(arrived, key=lambda f: f.result().finished_at):
                self.finish(self.running.pop(future), future.result())

    def drain(self) -> None:
        self.complete()
        while self.running:
            self.wait_running()
            self.complete()

    def reset_all(self) -> None:
        """Every atom back to PENDING (results, failures cleared), then the flow."""
        with self._one_write():
            self.reverter.reset(range(len(self.details)), every_state=True)
            self.flow_to(states.PENDING)
