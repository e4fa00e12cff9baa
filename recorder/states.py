"""States of flows, atoms and jobs, and the transitions between them, as data.

Each kind has a table of allowed ``(old, new)`` pairs and one check function.
A check returns True when the move should happen, False when it should be
silently ignored (same state, or a suspend-family state requested of a flow
that is not running), and raises :class:`~recorder.exceptions.InvalidState`
for anything else.
"""

from __future__ import annotations

from recorder.exceptions import InvalidState

# Flow and atom states.
PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
REVERTED = "REVERTED"
SUSPENDING = "SUSPENDING"
SUSPENDED = "SUSPENDED"
RESUMING = "RESUMING"
REVERTING = "REVERTING"
REVERT_FAILURE = "REVERT_FAILURE"
IGNORE = "IGNORE"
RETRYING = "RETRYING"

# TaskFlow's engine (state machine) states, for code that compares against them.
SCHEDULING = "SCHEDULING"
WAITING = "WAITING"
ANALYZING = "ANALYZING"

# Atom intentions.
EXECUTE = "EXECUTE"
REVERT = "REVERT"
RETRY = "RETRY"
INTENTIONS = frozenset({EXECUTE, IGNORE, REVERT, RETRY})

# Job states.
UNCLAIMED = "UNCLAIMED"
CLAIMED = "CLAIMED"
COMPLETE = "COMPLETE"

FLOW_STATES = frozenset(
    {PENDING, RUNNING, SUCCESS, FAILURE, REVERTED, SUSPENDING, SUSPENDED, RESUMING}
)
TASK_STATES = frozenset(
    {PENDING, RUNNING, SUCCESS, FAILURE, REVERTING, REVERTED, REVERT_FAILURE, IGNORE}
)
RETRY_STATES = TASK_STATES | {RETRYING}
JOB_STATES = frozenset({UNCLAIMED, CLAIMED, COMPLETE})

FLOW_TRANSITIONS = frozenset(
    {
        (PENDING, RUNNING),
        (RUNNING, SUCCESS),
        (RUNNING, FAILURE),
        (RUNNING, REVERTED),
        (RUNNING, SUSPENDING),
        (RUNNING, RESUMING),
        (SUCCESS, RUNNING),
        (SUCCESS, PENDING),
        (FAILURE, RUNNING),
        (REVERTED, PENDING),
        (SUSPENDING, SUSPENDED),
        (SUSPENDING, SUCCESS),
        (SUSPENDING, FAILURE),
        (SUSPENDING, REVERTED),
        (SUSPENDING, RESUMING),
        (SUSPENDED, RUNNING),
        (RESUMING, SUSPENDED),
    }
)

# Moves into these from a settled state are ignored rather than refused.
_FLOW_IGNORED_FROM = frozenset({PENDING, FAILURE, SUCCESS, SUSPENDED, REVERTED})
_FLOW_IGNORED_TO = frozenset({SUSPENDING, SUSPENDED, RESUMING})

TASK_TRANSITIONS = frozenset(
    {
        (PENDING, RUNNING),
        (PENDING, IGNORE),
        (RUNNING, SUCCESS),
        (RUNNING, FAILURE),
        (FAILURE, REVERTING),
        (SUCCESS, REVERTING),
        (REVERTING, REVERTED),
        (REVERTING, REVERT_FAILURE),
        (REVERTED, PENDING),
        (IGNORE, PENDING),
    }
)

RETRY_TRANSITIONS = TASK_TRANSITIONS | {(SUCCESS, RETRYING), (RETRYING, RUNNING)}

JOB_TRANSITIONS = frozenset({(UNCLAIMED, CLAIMED), (CLAIMED, UNCLAIMED), (CLAIMED, COMPLETE)})


def _refuse(kind: str, old: str | None, new: str) -> InvalidState:
    return InvalidState(
        "%s cannot move from state %r to state %r" % (kind, old, new), kind=kind, old=old, new=new
    )


def check_flow_transition(old: str | None, new: str) -> bool:
    """Should a flow move from ``old`` to ``new``? (False: ignore it.)"""
    if old == new:
        return False
    if (old, new) in FLOW_TRANSITIONS:
        return True
    if old in _FLOW_IGNORED_FROM and new in _FLOW_IGNORED_TO:
        return False
    raise _refuse("flow", old, new)


def check_task_transition(old: str | None, new: str) -> bool:
    """Should a task move from ``old`` to ``new``? (False: same state, ignore it.)"""
    if old == new:
        return False
    if (old, new) in TASK_TRANSITIONS:
        return True
    raise _refuse("task", old, new)


def check_retry_transition(old: str | None, new: str) -> bool:
    """Should a retry atom move from ``old`` to ``new``? (False: same state, ignore it.)"""
    if old == new:
        return False
    if (old, new) in RETRY_TRANSITIONS:
        return True
    raise _refuse("retry", old, new)


def check_job_transition(old: str | None, new: str) -> bool:
    """Should a job move from ``old`` to ``new``? (False: same state, ignore it.)"""
    if old == new:
        return False
    if (old, new) in JOB_TRANSITIONS:
        return True
    raise _refuse("job", old, new)
