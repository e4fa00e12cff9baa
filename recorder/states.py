"""States of flows, atoms and jobs, the transitions between them, as data, and the
kinds of what has a state and the named groups of states everyone else uses.

Each kind has a table of allowed ``(old, new)`` pairs and one check function,
as TaskFlow's: the flow check returns True when the move should happen, False
when it should be silently ignored (same state, or a suspend-family state
requested of a flow that is not running), and raises
:class:`~recorder.exceptions.InvalidState` for anything else; the task and retry
checks return True for an allowed move and False for any other (jobs: as flows).
The engine itself also moves any atom back to PENDING when it resets a flow.
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

STATES = (
    PENDING,
    RUNNING,
    SUCCESS,
    FAILURE,
    REVERTING,
    REVERTED,
    REVERT_FAILURE,
    RETRYING,
    IGNORE,
    SUSPENDING,
    SUSPENDED,
    RESUMING,
)
"""Every flow and atom state, in lifecycle order."""

# Kinds: what a state belongs to (``atom_details.kind``, ``transitions.kind``).
KIND_FLOW = "flow"
KIND_TASK = "task"
KIND_RETRY = "retry"
ATOM_KINDS = frozenset({KIND_TASK, KIND_RETRY})

# Named groups of states.
RESULT_STATES = (FAILURE, SUCCESS, REVERTED, REVERT_FAILURE)
"""An atom entering one of these has a result (or a Failure) in its event details
(TaskFlow's ``listeners.base.FINISH_STATES``, in its order)."""
EXECUTE_END_STATES = frozenset({SUCCESS, FAILURE})
"""What ends an atom's execution (its running phase)."""
REVERT_END_STATES = frozenset({REVERTED, REVERT_FAILURE})
"""What ends an atom's revert (its reverting phase)."""
RUN_END_STATES = frozenset({SUCCESS, FAILURE, REVERTED, SUSPENDED})
"""What ends a run of a flow (a resumed flow has several runs)."""
DONE_STATES = frozenset({SUCCESS, IGNORE})
"""An atom in one of these lets the atoms after it run."""
UNSTARTED_STATES = frozenset({None, PENDING})
"""An atom or flow here has not started (None: never given a state)."""

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


def check_flow_transition(old: str | None, new: str) -> bool:
    """Should a flow move from ``old`` to ``new``? (False: ignore it.)"""
    if old == new:
        return False
    if (old, new) in FLOW_TRANSITIONS:
        return True
    if old in _FLOW_IGNORED_FROM and new in _FLOW_IGNORED_TO:
        return False
    raise InvalidState(
        "Flow transition from '%s' to '%s' is not allowed" % (old, new),
        kind="flow",
        old=old,
        new=new,
    )


def check_task_transition(old: str | None, new: str) -> bool:
    """May a task move from ``old`` to ``new``? (False: same state, or not allowed.)"""
    return (old, new) in TASK_TRANSITIONS


def check_retry_transition(old: str | None, new: str) -> bool:
    """May a retry move from ``old`` to ``new``? (False: same state, or not allowed.)"""
    return (old, new) in RETRY_TRANSITIONS


def check_job_transition(old: str | None, new: str) -> bool:
    """Should a job move from ``old`` to ``new``? (False: same state, ignore it.)"""
    if old == new:
        return False
    if (old, new) in JOB_TRANSITIONS:
        return True
    raise InvalidState(
        "Job transition from '%s' to '%s' is not allowed" % (old, new), kind="job", old=old, new=new
    )


# TaskFlow's own names for the tables (its tests read them).
_ALLOWED_FLOW_TRANSITIONS = FLOW_TRANSITIONS
_IGNORED_FLOW_TRANSITIONS = frozenset(
    (a, b) for a in _FLOW_IGNORED_FROM for b in _FLOW_IGNORED_TO if a != b
)
_ALLOWED_TASK_TRANSITIONS = TASK_TRANSITIONS
_ALLOWED_RETRY_TRANSITIONS = RETRY_TRANSITIONS
_ALLOWED_JOB_TRANSITIONS = JOB_TRANSITIONS
