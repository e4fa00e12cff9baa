"""Timelines, critical paths and failure episodes from hand-built rows (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from recorder.query import (
    build_timeline,
    critical_path,
    failures_from_timeline,
    failures_from_transitions,
)
from recorder.query.failures import stored_failure, with_stored_failures
from recorder.query.model import INTERRUPTED, FailureInfo, Timeline
from tests.query.trail import T0, Trail, at


def timeline_of(trail: Trail, **kwargs: Any) -> Timeline:
    return build_timeline(trail.rows, flow_uuid="f-1", **kwargs)


def test_one_success_has_one_running_phase_with_exact_duration() -> None:
    trail = Trail().flow("RUNNING", 0).run("a", 0.1, 0.35).flow("SUCCESS", 0.4)
    tl = timeline_of(trail)
    (atom,) = tl.atoms
    (attempt,) = atom.attempts
    assert [p.phase for p in attempt.phases] == ["running"]
    assert attempt.run_duration == pytest.approx(0.25, abs=1e-9)
    assert attempt.outcome == "SUCCESS" and attempt.result == "r"
    assert tl.state == "SUCCESS" and tl.duration == pytest.approx(0.4)
    assert not tl.open and tl.as_of == at(0.4)


def test_retry_puts_a_waiting_phase_before_each_rerun() -> None:
    # The seed's order: r1 runs, ok runs, flaky fails, both revert, r1 retries.
    t = Trail().flow("RUNNING", 0)
    t.run("r1", 0.0, 0.01, kind="retry").run("ok", 0.02, 0.1).run("flaky", 0.1, 0.2, ok=False)
    t.revert("flaky", 0.21, 0.22).revert("ok", 0.23, 0.24)
    t.atom("r1", "RETRYING", 0.25, kind="retry")
    t.atom("ok", "PENDING", 0.26).atom("flaky", "PENDING", 0.26)
    t.run("r1", 0.27, 0.28, kind="retry").run("ok", 0.3, 0.4).run("flaky", 0.4, 0.5)
    t.flow("SUCCESS", 0.5)
    tl = timeline_of(t)
    flaky = tl.atom("flaky")
    assert [a.number for a in flaky.attempts] == [1, 2] and flaky.retries == 1
    first, second = flaky.attempts
    assert first.outcome == "FAILURE" and first.revert_outcome == "REVERTED"
    assert first.failure is not None and first.failure.type == "RuntimeError"
    assert [p.phase for p in first.phases] == ["running", "reverting"]
    assert [p.phase for p in second.phases] == ["waiting", "running"]
    wait = second.phase("waiting")
    assert wait is not None and wait.started_at == at(0.22) and wait.ended_at == at(0.4)
    r1_wait = tl.atom("r1").attempts[1].phase("waiting")
    assert r1_wait is not None and r1_wait.started_at == at(0.25) and r1_wait.ended_at == at(0.27)
    episodes = failures_from_transitions(t.rows)
    assert len(episodes) == 1
    (ep,) = episodes
    assert ep.outcome == "RETRIED" and ep.retried_by == "r1"
    assert [(r.atom, r.attempt) for r in ep.reverts] == [("flaky", 1), ("ok", 1)]
    assert ep.reverts[0].after_failure_s == pytest.approx(0.02)


def test_still_running_flow_has_open_attempts_measured_up_to_now() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1).atom("b", "RUNNING", 1.5)
    now = at(10)
    tl = timeline_of(t, now=now)
    b = tl.atom("b").attempts[0]
    assert b.open and b.outcome is None and b.ended_at is None
    assert tl.open and tl.ended_at is None and tl.runs[-1].end_state is None
    assert tl.as_of == now
    assert b.phases[0].duration_until(tl.as_of) == pytest.approx(8.5)
    path = critical_path(tl)
    assert path is not None and path.open and path.ended_at == now
    assert [s.atom for s in path.steps] == ["a", "b"]


def test_finished_flow_ignores_now() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1).flow("SUCCESS", 1)
    assert timeline_of(t, now=at(99)).as_of == at(1)


def test_resumed_flow_has_segments_and_the_crashed_attempt_is_interrupted() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1).atom("b", "RUNNING", 1.2)
    # The process died; a new one resumes the flow an hour later.
    t.flow("RESUMING", 3600).flow("SUSPENDED", 3600).flow("RUNNING", 3600)
    t.attempts["b"] += 1  # the engine counts the re-run without a RUNNING row
    t.atom("b", "SUCCESS", 3601).flow("SUCCESS", 3601)
    tl = timeline_of(t)
    assert [(r.number, r.end_state) for r in tl.runs] == [(1, INTERRUPTED), (2, "SUCCESS")]
    assert tl.runs[0].ended_at == at(1.2)  # the last thing seen alive, not the resume
    lost, rerun = tl.atom("b").attempts
    assert lost.outcome == INTERRUPTED and lost.ended_at == at(1.2)
    assert rerun.outcome == "SUCCESS" and rerun.started_at == at(3600)
    assert any("re-run after a resume" in note for note in tl.unknown)
    path = critical_path(tl)
    assert path is not None and path.run == 2 and path.wall == pytest.approx(1)


def test_suspension_ends_a_run_and_resuming_it_starts_another() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1)
    t.flow("SUSPENDING", 1).flow("SUSPENDED", 1.1).flow("RUNNING", 5).run("b", 5, 6)
    t.flow("SUCCESS", 6)
    tl = timeline_of(t)
    runs: list[tuple[str | None, Any]] = [(r.end_state, r.duration) for r in tl.runs]
    assert runs == [
        ("SUSPENDED", pytest.approx(1.1)),
        ("SUCCESS", pytest.approx(1)),
    ]
    assert tl.duration == pytest.approx(6)


def test_a_rerun_of_a_reverted_flow_is_not_a_retry_wait() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1, ok=False).revert("a", 1, 1.1)
    t.flow("REVERTED", 1.2).flow("PENDING", 50).atom("a", "PENDING", 50)
    t.flow("RUNNING", 50).run("a", 50, 51).flow("SUCCESS", 51)
    second = timeline_of(t).atom("a").attempts[1]
    assert second.phase("waiting") is None


def test_atoms_without_transitions_are_listed_with_no_attempts() -> None:
    class Atom:
        def __init__(self, name: str) -> None:
            self.name, self.uuid, self.kind, self.state = name, "uuid-" + name, "task", "PENDING"

    t = Trail().flow("RUNNING", 0).run("a", 0, 1)
    tl = timeline_of(t, atoms=[Atom("a"), Atom("later")])
    assert [a.name for a in tl.atoms] == ["a", "later"]
    assert tl.atom("later").attempts == ()


def test_critical_path_follows_the_longer_parallel_branch() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1)
    t.run("short", 1.1, 2).run("long", 1.1, 3).run("d", 3.2, 4).flow("SUCCESS", 4.1)
    path = critical_path(timeline_of(t))
    assert path is not None
    assert [s.atom for s in path.steps] == ["a", "long", "d"]
    assert path.running == pytest.approx(1 + 1.9 + 0.8)
    assert path.waiting == pytest.approx(4.1 - 3.7)
    assert path.running + path.reverting + path.waiting == pytest.approx(path.wall)
    assert path.share(path.running) == pytest.approx(3.7 / 4.1, abs=1e-4)


def test_critical_path_includes_reverts_after_a_failure() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1).run("b", 1, 2, ok=False)
    t.revert("b", 2, 2.5).revert("a", 2.5, 3).flow("REVERTED", 3)
    path = critical_path(timeline_of(t))
    assert path is not None
    assert [(s.atom, s.phase) for s in path.steps] == [
        ("a", "running"),
        ("b", "running"),
        ("b", "reverting"),
        ("a", "reverting"),
    ]
    assert path.reverting == pytest.approx(1)


def test_parallel_failures_share_one_episode_and_a_revert_failure_ends_it() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1)
    t.atom("b", "RUNNING", 1).atom("c", "RUNNING", 1)
    t.atom("b", "FAILURE", 2, failure=("KeyError", "'x'"))
    t.atom("c", "FAILURE", 2.5, failure=("ValueError", "bad"))
    t.revert("b", 3, 3.1).revert("c", 3.1, 3.2).revert("a", 3.2, 3.3, ok=False)
    t.flow("FAILURE", 3.4)
    (ep,) = failures_from_transitions(t.rows)
    assert [(f.atom, f.during) for f in ep.failures] == [
        ("b", "execute"),
        ("c", "execute"),
        ("a", "revert"),
    ]
    assert ep.failures[2].failure is not None and ep.failures[2].failure.type == "OSError"
    assert [r.end_state for r in ep.reverts] == ["REVERTED", "REVERTED", "REVERT_FAILURE"]
    assert ep.outcome == "FAILURE"
    same = failures_from_timeline(timeline_of(t))
    assert [(f.atom, f.attempt) for f in same[0].failures] == [
        (f.atom, f.attempt) for f in ep.failures
    ]
    assert same[0].outcome == "FAILURE"


def test_rows_are_taken_in_seq_order_whatever_order_they_come_in() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1).run("b", 1, 2).flow("SUCCESS", 2)
    assert build_timeline(reversed(t.rows), flow_uuid="f") == build_timeline(t.rows, flow_uuid="f")


def test_json_shape_is_stable() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1, ok=False).revert("a", 1, 2)
    t.flow("REVERTED", 2)
    data = timeline_of(t).to_json()
    assert data["format"] == "recorder.timeline/1"
    assert set(data) == {
        "format", "flow", "source", "unknown", "as_of", "started_at", "ended_at",
        "duration_s", "open", "runs", "atoms",
    }  # fmt: skip
    attempt = data["atoms"][0]["attempts"][0]
    assert attempt["failure"] == {
        "type": "RuntimeError",
        "message": "a broke",
        "causes": [],
        "traceback": None,
    }
    assert attempt["phases"][1] == {
        "phase": "reverting",
        "started_at": (T0 + timedelta(seconds=1)).isoformat(timespec="microseconds"),
        "ended_at": (T0 + timedelta(seconds=2)).isoformat(timespec="microseconds"),
        "duration_s": 1.0,
        "end_state": "REVERTED",
    }


def test_stored_failures_add_causes_only_to_the_failure_they_describe() -> None:
    t = Trail().flow("RUNNING", 0).run("a", 0, 1, ok=False).revert("a", 1, 2)
    t.flow("REVERTED", 2)
    stored = {
        "exception_str": "a broke",
        "exc_type_names": ["RuntimeError", "Exception"],
        "traceback_str": "Traceback...",
        "causes": [
            {
                "exception_str": "socket closed",
                "exc_type_names": ["OSError"],
                "causes": [{"exception_str": "EOF", "exc_type_names": ["EOFError"]}],
            }
        ],
    }
    (ep,) = with_stored_failures(failures_from_transitions(t.rows), {"a": (stored, None)})
    failure = ep.failures[0].failure
    assert failure is not None
    assert failure.causes == ("OSError: socket closed", "EOFError: EOF")
    assert failure.traceback == "Traceback..."
    other = {**stored, "exception_str": "something else"}
    (ep,) = with_stored_failures(failures_from_transitions(t.rows), {"a": (other, None)})
    assert ep.failures[0].failure is not None and ep.failures[0].failure.causes == ()
    long = {**stored, "exception_str": "x" * 300}
    cut = FailureInfo("RuntimeError", "x" * 197 + "...")
    assert stored_failure(long) is not None
    (ep,) = with_stored_failures(
        (replace(ep, failures=(replace(ep.failures[0], failure=cut),)),), {"a": (long, None)}
    )
    assert ep.failures[0].failure is not None and ep.failures[0].failure.message == "x" * 300
