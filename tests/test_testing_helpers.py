"""recorder.testing: the helpers users test their own recorded flows with."""

from __future__ import annotations

import dataclasses

from recorder import testing
from recorder.audit.chain import verify_chain
from recorder.patterns import linear_flow
from recorder.persistence import connect
from tests.support.sample_tasks import Boom, Const


def _flow() -> linear_flow.Flow:
    return linear_flow.Flow("f").add(Const(1, name="one", provides="x"), Boom(name="boom"))


def test_record_run_returns_what_was_stored_in_memory() -> None:
    run = testing.record_run(_flow())
    assert isinstance(run.error, RuntimeError)
    assert run.verified.ok and run.verified.checked == len(run.transitions)
    assert run.states() == ["RUNNING", "REVERTED"]
    assert run.states("one") == ["RUNNING", "SUCCESS", "REVERTING", "REVERTED"]
    assert run.flow.state == "REVERTED"


def test_record_run_on_a_database(db_url: str) -> None:
    backend = connect(db_url)
    try:
        run = testing.record_run(linear_flow.Flow("ok").add(Const(2, name="two")), backend=backend)
    finally:
        backend.close()
    assert run.error is None and run.verified.ok
    assert run.flow.atoms["two"].results == 2
    assert [row.seq for row in run.transitions] == list(range(1, len(run.transitions) + 1))


def test_a_built_trail_verifies_and_a_changed_row_does_not() -> None:
    trail = testing.TrailBuilder().flow("RUNNING", 0).run("a", 0, 1).run("b", 1, 2, ok=False)
    trail.revert("b", 2, 3).revert("a", 3, 4).flow("REVERTED", 4)
    assert verify_chain(trail.rows).ok
    assert [row.attempt for row in trail.rows if row.name == "b"] == [1, 1, 1, 1]
    forged = list(trail.rows)
    forged[2] = dataclasses.replace(forged[2], new_state="FAILURE")
    result = verify_chain(forged)
    assert not result.ok and result.first_bad_seq == 3
