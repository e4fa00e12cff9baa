"""SIGKILL a parallel engine while a failure under a retry is being handled, then resume.

One resume must finish the flow the way TaskFlow's retry semantics say: the
atom left RUNNING by the crash is interrupted (it may have had its side
effect), so when the retry's decision reverts its scope it is reverted too
(not run again first), and then the retry runs the scope again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder.audit import verify_flow
from recorder.persistence import connect
from recorder.persistence.models import FlowDetail
from recorder.query import find_flow, load_report
from tests.support.crashretry import resume_by_cli, resume_in_child, side_effects, start_and_kill

FAILED_WHILE_SLOW_RUNS = {"retry": "SUCCESS", "slow": "RUNNING", "flaky": "FAILURE"}
FIRST_RUN = ["execute slow 1", "execute flaky 1"]
REVERTED_THEN_RETRIED = ["revert flaky 1", "revert slow 1 None"]
SECOND_ATTEMPT = {"execute slow 2", "execute flaky 2"}


def stored(db_url: str, flow_uuid: str) -> FlowDetail:
    with connect(db_url) as backend:
        return backend.load_flow(flow_uuid)


def assert_retried_to_success(db_url: str, flow_uuid: str) -> None:
    final = stored(db_url, flow_uuid)
    assert final.state == "SUCCESS"
    atoms = final.atoms
    assert {name: atoms[name].state for name in atoms} == dict.fromkeys(atoms, "SUCCESS")
    assert atoms["slow"].results == "slow@2" and atoms["flaky"].results == "flaky@2"
    assert atoms["slow"].attempt == 2 and atoms["flaky"].attempt == 2
    history = atoms["retry"].results
    assert [result for result, _failures in history] == [1, 2]
    assert set(history[0][1]) == {"flaky"}  # slow was interrupted, it did not fail


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["serial", "parallel"])
def test_cli_resume_reverts_the_interrupted_sibling_then_retries(
    db_url: str, tmp_path: Path, engine: str
) -> None:
    flow_uuid = start_and_kill(db_url, tmp_path, committed=FAILED_WHILE_SLOW_RUNS)
    assert side_effects(tmp_path) == FIRST_RUN

    out = resume_by_cli(db_url, flow_uuid, tmp_path, engine=engine)
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith("is SUCCESS")

    effects = side_effects(tmp_path)
    assert effects[:4] == FIRST_RUN + REVERTED_THEN_RETRIED
    assert set(effects[4:]) == SECOND_ATTEMPT and len(effects) == 6
    assert_retried_to_success(db_url, flow_uuid)
    with connect(db_url) as backend:
        assert verify_flow(backend, flow_uuid).ok
        with backend.engine.connect() as conn:
            slow = load_report(conn, find_flow(conn, flow_uuid)).timeline.atom("slow")
    first, second = slow.attempts
    assert (first.outcome, first.revert_outcome) == ("INTERRUPTED", "REVERTED")
    assert (second.outcome, second.revert_outcome) == ("SUCCESS", None)


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "mode"), [("serial", "durable"), ("parallel", "batched")])
def test_library_resume_reverts_the_interrupted_sibling_then_retries(
    db_url: str, tmp_path: Path, engine: str, mode: str
) -> None:
    flow_uuid = start_and_kill(db_url, tmp_path, mode=mode, committed=FAILED_WHILE_SLOW_RUNS)

    outcome = resume_in_child(db_url, flow_uuid, tmp_path, mode=mode, engine=engine, kind="times3")
    assert outcome == {"state": "SUCCESS", "error": None}
    effects = side_effects(tmp_path)
    assert effects[:4] == FIRST_RUN + REVERTED_THEN_RETRIED
    assert set(effects[4:]) == SECOND_ATTEMPT and len(effects) == 6
    assert_retried_to_success(db_url, flow_uuid)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["none", "times1"])
def test_resume_reverts_the_flow_when_no_retry_is_left(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    committed = {"slow": "RUNNING", "flaky": "FAILURE"}
    flow_uuid = start_and_kill(db_url, tmp_path, kind=kind, committed=committed)

    outcome = resume_in_child(
        db_url, flow_uuid, tmp_path, mode="durable", engine="parallel", kind=kind
    )
    # A failure loaded from the database is re-raised wrapped (as TaskFlow does).
    assert outcome == {
        "state": "REVERTED",
        "error": ("WrappedFailure: WrappedFailure: [Failure: RuntimeError: flaky is down]"),
    }
    attempt = 0 if kind == "none" else 1
    assert side_effects(tmp_path) == [
        "execute slow %d" % attempt,
        "execute flaky %d" % attempt,
        "revert flaky %d" % attempt,
        "revert slow %d None" % attempt,
    ]
    final = stored(db_url, flow_uuid)
    assert final.state == "REVERTED"
    assert {name: atom.state for name, atom in final.atoms.items()} == dict.fromkeys(
        final.atoms, "REVERTED"
    )
    assert final.atoms["slow"].attempt == 1  # reverted, not run again


@pytest.mark.slow
def test_resume_finishes_a_revert_the_crash_cut_off_then_retries(
    db_url: str, tmp_path: Path
) -> None:
    committed = {"retry": "SUCCESS", "slow": "REVERTING", "flaky": "REVERTED"}
    flow_uuid = start_and_kill(db_url, tmp_path, point="revert", committed=committed)

    out = resume_by_cli(db_url, flow_uuid, tmp_path)
    assert out.returncode == 0, out.stderr
    effects = side_effects(tmp_path)
    assert set(effects[:2]) == {"execute slow 1", "execute flaky 1"}
    # The cut-off revert runs again (at least once, like an execute); nothing is run
    # again before its scope was reverted and the retry ran.
    assert effects[2:4] == ["revert flaky 1", "revert slow 1 slow@1"]
    assert effects[4] == "revert slow 1 slow@1"
    assert set(effects[5:]) == SECOND_ATTEMPT and len(effects) == 7
    assert_retried_to_success(db_url, flow_uuid)
    with connect(db_url) as backend, backend.engine.connect() as conn:
        slow = load_report(conn, find_flow(conn, flow_uuid)).timeline.atom("slow")
    cut, again = (p for p in slow.attempts[0].phases if p.phase == "reverting")
    assert (cut.end_state, again.end_state) == ("INTERRUPTED", "REVERTED")
    assert again.ended_at is not None
    assert again.started_at < again.ended_at  # the trail has the second revert's start


@pytest.mark.slow
def test_resume_of_a_retry_left_retrying_runs_its_scope_again(db_url: str, tmp_path: Path) -> None:
    committed = {"retry": "RETRYING", "slow": "REVERTED", "flaky": "REVERTED"}
    flow_uuid = start_and_kill(db_url, tmp_path, point="retrying", committed=committed)

    out = resume_by_cli(db_url, flow_uuid, tmp_path, engine="parallel")
    assert out.returncode == 0, out.stderr
    effects = side_effects(tmp_path)
    assert len(effects) == 6 and set(effects[4:]) == SECOND_ATTEMPT  # nothing reverted twice
    assert_retried_to_success(db_url, flow_uuid)
