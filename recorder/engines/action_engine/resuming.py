"""Starting a run from wherever a stored flow was left (a new flow is just "PENDING").

A crash can leave a run anywhere: atoms RUNNING or REVERTING (cut off; their
side effects may have happened), failures not yet handled, a retry RETRYING.
A resumed run picks these up as TaskFlow's completer does on load: a retry
left RETRYING (or with the intention RETRY) had decided to retry, so its scope
is reset to run again (it is not asked again); failures still in FAILURE (or
reverted, but not yet decided on) are handed to their retry again; atoms cut
off are "interrupted": if a failure's decision reverts them they are reverted
(never run first), otherwise those left RUNNING run again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recorder import states
from recorder.exceptions import EngineError
from recorder.failure import Failure

if TYPE_CHECKING:
    from recorder.engines.action_engine.runner import Runner

CUT_OFF = frozenset({states.RUNNING, states.REVERTING})
_UNDONE = frozenset({states.PENDING, states.REVERTED, states.IGNORE})


def begin(runner: Runner) -> None:
    """Move the flow into RUNNING from wherever it was left."""
    storage = runner.storage
    state = storage.get_flow_state()
    if state == states.FAILURE:
        stuck = [d.name for d in runner.details if d.state == states.REVERT_FAILURE]
        if stuck:
            raise EngineError(
                "flow %r ended in FAILURE because reverting %s failed; it cannot be run again"
                % (storage.flow_name, ", ".join(repr(n) for n in stuck))
            )
    if state == states.REVERTED:
        runner.reverter.reset(list(range(len(runner.details))))
        runner.flow_to(states.PENDING)
    elif state in (states.RUNNING, states.SUSPENDING):
        # A crash left the flow here: the trail marks it (RESUMING, SUSPENDED, then
        # RUNNING again), but listeners hear nothing, as on TaskFlow's engine.
        runner.flow_to(states.RESUMING, announce=False)
        runner.flow_to(states.SUSPENDED, announce=False)
        runner.flow_to(states.RUNNING, announce=state == states.SUSPENDING)
        return
    elif state == states.RESUMING:
        runner.flow_to(states.SUSPENDED, announce=False)
        runner.flow_to(states.RUNNING, announce=False)
        return
    runner.flow_to(states.RUNNING)


def gone_failures(runner: Runner) -> dict[str, Failure]:
    """Failures of stored atoms the flow no longer has, whose revert had begun: the
    resumed run goes on reverting (and re-raises them), as TaskFlow's does."""
    known = runner.c.index
    return {
        name: d.failure
        for name, d in runner.storage.flow_detail.atoms.items()
        if name not in known and d.failure is not None and d.intention == states.REVERT
    }


def pick_up(runner: Runner) -> tuple[set[int], list[int]]:
    """Reset the scopes of retries left RETRYING; return the atoms a crash cut off
    and the failures still to be handled."""
    details = runner.details
    for idx, detail in enumerate(details):
        if detail.kind != states.KIND_RETRY:
            continue
        scope = runner.c.scope.get(idx, [])
        if (
            detail.intention == states.RETRY
            and detail.state != states.RETRYING
            and all(details[i].state in _UNDONE for i in scope)
        ):
            # It had decided to retry and its scope is reverted: only the move is left.
            runner.atom_to(idx, states.RETRYING)
        if detail.state == states.RETRYING:
            runner.reverter.reset(scope)
    interrupted = {i for i, d in enumerate(details) if d.state in CUT_OFF}
    failed = [
        i
        for i, d in enumerate(details)
        if d.state == states.FAILURE
        or (
            d.failure is not None
            and d.intention == states.REVERT
            and d.state in (states.REVERTING, states.REVERTED)
        )
    ]
    return interrupted, failed
