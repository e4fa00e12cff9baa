"""The state tables of :mod:`recorder.states` (TaskFlow's transitions), checked pair by pair."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder import states
from recorder.exceptions import InvalidState, RecorderError

SETTLED = {states.PENDING, states.FAILURE, states.SUCCESS, states.SUSPENDED, states.REVERTED}
SUSPENDISH = {states.SUSPENDING, states.SUSPENDED, states.RESUMING}


def test_every_state_is_its_upper_case_name() -> None:
    for name in [
        "PENDING",
        "RUNNING",
        "SUCCESS",
        "FAILURE",
        "REVERTED",
        "SUSPENDING",
        "SUSPENDED",
        "RESUMING",
        "REVERTING",
        "REVERT_FAILURE",
        "IGNORE",
        "RETRYING",
        "EXECUTE",
        "REVERT",
        "RETRY",
        "UNCLAIMED",
        "CLAIMED",
        "COMPLETE",
    ]:
        assert getattr(states, name) == name


@pytest.mark.parametrize(
    "old,new",
    [
        ("PENDING", "RUNNING"),
        ("RUNNING", "SUCCESS"),
        ("RUNNING", "SUSPENDING"),
        ("SUSPENDING", "SUSPENDED"),
        ("SUSPENDED", "RUNNING"),
        ("REVERTED", "PENDING"),
        ("RESUMING", "SUSPENDED"),
    ],
)
def test_allowed_flow_transitions(old: str, new: str) -> None:
    assert states.check_flow_transition(old, new) is True


@given(st.sampled_from(sorted(states.FLOW_STATES)), st.sampled_from(sorted(states.FLOW_STATES)))
def test_flow_check_matches_the_rules(old: str, new: str) -> None:
    if (old, new) in states.FLOW_TRANSITIONS:
        assert states.check_flow_transition(old, new) is True
    elif old == new or (old in SETTLED and new in SUSPENDISH):
        assert states.check_flow_transition(old, new) is False
    else:
        with pytest.raises(InvalidState) as err:
            states.check_flow_transition(old, new)
        assert old in str(err.value) and new in str(err.value)
        assert (err.value.kind, err.value.old, err.value.new) == ("flow", old, new)


def test_task_and_retry_tables() -> None:
    all_pairs = itertools.product(sorted(states.RETRY_STATES), repeat=2)
    for old, new in all_pairs:
        if old == new:
            assert states.check_retry_transition(old, new) is False
            continue
        # As TaskFlow's: True for an allowed move, False for any other (no raise).
        retry_ok = (old, new) in states.RETRY_TRANSITIONS
        task_ok = (old, new) in states.TASK_TRANSITIONS
        assert states.check_retry_transition(old, new) is retry_ok
        assert states.check_task_transition(old, new) is task_ok
    # Only retries can retry.
    assert states.check_retry_transition("SUCCESS", "RETRYING")
    assert states.check_task_transition("SUCCESS", "RETRYING") is False


def test_job_transitions() -> None:
    assert states.check_job_transition("UNCLAIMED", "CLAIMED")
    assert states.check_job_transition("CLAIMED", "COMPLETE")
    assert states.check_job_transition("CLAIMED", "UNCLAIMED")
    with pytest.raises(RecorderError):
        states.check_job_transition("COMPLETE", "CLAIMED")
