"""The engine's states during one run, as TaskFlow's ``run_iter()`` yields them.

A run goes RESUMING (pick up where the stored flow was left), then rounds of
SCHEDULING (start every ready atom), WAITING (for at least one to finish, when
the executor runs them elsewhere) and ANALYZING (record what finished, find what
is ready now, handle failures), and ends SUCCESS, REVERTED, FAILURE or
SUSPENDED. The serial engine runs atoms while scheduling them, and records their
ends while analyzing: ``a RUNNING, b RUNNING, a SUCCESS, b SUCCESS`` for two
independent atoms, as TaskFlow's serial engine does.

The flow's own state changes (and ``run()``'s re-raise of what made it fail)
happen once the final state was yielded. A truthy value sent into the iterator
suspends the engine; closing it suspends and finishes the run quietly; an
exception thrown into it stops starting atoms and ends the flow in FAILURE,
re-raising that exception.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.engines.action_engine import resuming
from recorder.engines.action_engine.reverting import RevertFailed, RevertSuspended
from recorder.exceptions import EngineError
from recorder.failure import Failure

if TYPE_CHECKING:
    from recorder.engines.action_engine.runner import Runner

FINAL_STATES = frozenset({states.SUCCESS, states.REVERTED, states.FAILURE, states.SUSPENDED})
_DONE_STATES = frozenset({states.SUCCESS, states.IGNORE})


class Machine:
    """Steps one run of a :class:`Runner` through the engine states."""

    def __init__(self, runner: Runner, statistics: dict[str, Any]) -> None:
        self.runner = runner
        self.aborted: Failure | None = None  # what was thrown into run_iter()
        self.reraise: list[Failure] = []  # what the run re-raises once it ends
        self.statistics = statistics

    def iterate(self, yield_states: bool = True) -> Generator[str, Any, None]:
        """Run, yielding each state (``yield_states=False``: yield none, for ``run()``,
        which saves a generator round trip per step)."""
        runner = self.runner
        setup = runner.setup
        stats = self.statistics
        stats.clear()
        started = time.monotonic()
        closed = False
        resuming.begin(runner)
        state = states.RESUMING
        try:
            while True:
                if yield_states and not closed:
                    try:
                        sent = yield state
                    except GeneratorExit:
                        closed = True
                        setup.suspend()
                    except Exception:
                        self.aborted = Failure()
                        closed = True
                    else:
                        if sent:
                            setup.suspend()
                if state in FINAL_STATES:
                    break
                state = self.step(state)
        finally:
            try:
                runner.drain()
            finally:
                stats["active_for"] = time.monotonic() - started
        runner.flow_to(state)
        if self.aborted is not None:
            self.aborted.reraise()
        Failure.reraise_if_any(self.reraise)

    def step(self, state: str) -> str:
        runner = self.runner
        if state == states.SCHEDULING:
            self.schedule()
            return states.WAITING
        if state == states.WAITING:
            if runner.running:
                runner.wait_running()
            return states.ANALYZING
        if state == states.ANALYZING:
            return self.analyze()
        # RESUMING
        runner.interrupted, runner.failed = resuming.pick_up(runner)
        runner.gone = resuming.gone_failures(runner)
        runner.compute_ready()
        return states.SCHEDULING

    def _may_start(self) -> bool:
        runner = self.runner
        return not (
            runner.failed or runner.gone or runner.setup.suspend_requested() or self.aborted
        )

    def _has_room(self) -> bool:
        runner = self.runner
        return runner.executor is None or len(runner.running) < runner.setup.max_workers

    def schedule(self) -> None:
        runner = self.runner
        ready = runner.ready
        if runner.prioritized and len(ready) > 1:
            atoms = runner.c.atoms
            ready = runner.ready = deque(sorted(ready, key=lambda i: -atoms[i].priority))
        # (Failures count once recorded: every atom of one batch starts, as TaskFlow's.)
        while ready and self._has_room() and self._may_start():
            runner.start(ready.popleft())

    def analyze(self) -> str:
        runner = self.runner
        runner.complete()
        self.statistics["completed"] = len(runner.completed)
        if runner.ready and self._may_start() and self._has_room():
            return states.SCHEDULING
        if runner.running:
            return states.WAITING
        if self.aborted is not None:
            return states.FAILURE
        if runner.failed or runner.gone:
            return self.resolve()
        details = runner.details
        unfinished = [d.name for d in details if d.state not in _DONE_STATES]
        if runner.setup.suspend_requested() and unfinished:
            runner.flow_to(states.SUSPENDING)
            return states.SUSPENDED
        if unfinished:
            raise EngineError(
                "flow %r stalled with atoms that can never run: %s"
                % (runner.storage.flow_name, ", ".join(unfinished))
            )
        return states.SUCCESS

    def resolve(self) -> str:
        runner = self.runner
        failed, runner.failed = runner.failed, []
        gone, runner.gone = runner.gone, {}
        failures = [f for f in (runner.details[i].failure for i in failed) if f is not None]
        failures.extend(gone.values())
        try:
            go_on = runner.reverter.resolve(failed, gone)
        except RevertFailed as revert_failed:
            self.reraise = [revert_failed.failure]
            return states.FAILURE
        except RevertSuspended:  # the resumed run goes on reverting
            runner.flow_to(states.SUSPENDING)
            return states.SUSPENDED
        if go_on:
            runner.compute_ready()
            return states.SCHEDULING
        self.reraise = failures
        return states.REVERTED
