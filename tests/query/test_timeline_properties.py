"""Properties of timelines over random engine-like histories (hypothesis).

A history is a serial flow: each atom fails a few times (each failure reverted
and retried) before it succeeds; optionally a last atom fails for good and
everything is reverted. Whatever the durations, the rebuilt timeline must
account for every row, and the critical path must split the wall time exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.query import (
    build_timeline,
    critical_path,
    failures_from_timeline,
    failures_from_transitions,
)
from tests.query.trail import Trail

# Durations in whole microseconds > 0, so no two events share a time.
micros = st.integers(min_value=1, max_value=5_000_000).map(lambda n: n / 1_000_000)


@dataclass
class Plan:
    failures: list[int]
    durations: list[float]
    fatal: bool


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-5)


plans = st.builds(
    Plan,
    failures=st.lists(st.integers(0, 3), min_size=1, max_size=5),
    durations=st.lists(micros, min_size=64, max_size=64),
    fatal=st.booleans(),
)


def history(plan: Plan) -> Trail:
    ticks = iter(plan.durations * 4)
    now = 0.0

    def step() -> float:
        nonlocal now
        now = round(now + next(ticks), 6)
        return now

    t = Trail().flow("RUNNING", step())
    done: list[str] = []
    for i, fails in enumerate(plan.failures):
        name = "atom%d" % i
        for _ in range(fails):
            t.run(name, step(), step(), ok=False)
            t.revert(name, step(), step())
            t.atom(name, "PENDING", step())
        t.run(name, step(), step())
        done.append(name)
    if plan.fatal:
        t.run("fatal", step(), step(), ok=False).revert("fatal", step(), step())
        for name in reversed(done):
            t.revert(name, step(), step())
        t.flow("REVERTED", step())
    else:
        t.flow("SUCCESS", step())
    return t


@settings(max_examples=150, deadline=None)
@given(plans)
def test_every_row_is_accounted_for(plan: Plan) -> None:
    t = history(plan)
    tl = build_timeline(t.rows, flow_uuid="f")
    runs = [r for r in t.rows if r.new_state == "RUNNING" and r.kind != "flow"]
    assert sum(len(a.attempts) for a in tl.atoms) == len(runs)
    for atom in tl.atoms:
        rows = [r for r in t.rows if r.name == atom.name]
        starts = [r.at for r in rows if r.new_state == "RUNNING"]
        ends = [r.at for r in rows if r.new_state in ("SUCCESS", "FAILURE")]
        ran = sum((e - s).total_seconds() for s, e in zip(starts, ends, strict=True))
        assert sum(a.run_duration or 0 for a in atom.attempts) == approx(ran)
        for number, attempt in enumerate(atom.attempts, start=1):
            assert attempt.number == number
            assert not attempt.open
            waits = [p for p in attempt.phases if p.phase == "waiting"]
            assert len(waits) == (1 if number > 1 else 0)
            for before, after in zip(attempt.phases, attempt.phases[1:], strict=False):
                assert before.ended_at is not None and before.ended_at <= after.started_at
            assert all((p.duration or 0) >= 0 for p in attempt.phases)


@settings(max_examples=150, deadline=None)
@given(plans)
def test_critical_path_splits_the_wall_time(plan: Plan) -> None:
    tl = build_timeline(history(plan).rows, flow_uuid="f")
    path = critical_path(tl)
    assert path is not None
    assert path.wall == approx(tl.duration or 0)
    assert path.running + path.reverting + path.waiting == approx(path.wall)
    for before, after in zip(path.steps, path.steps[1:], strict=False):
        assert before.ended_at <= after.started_at
    # In a serial flow every execute phase is on the path.
    executes = sum(1 for a in tl.atoms for x in a.attempts if x.phase("running"))
    assert sum(1 for s in path.steps if s.phase == "running") == executes


@settings(max_examples=150, deadline=None)
@given(plans)
def test_one_episode_per_failure_and_both_sources_agree(plan: Plan) -> None:
    t = history(plan)
    episodes = failures_from_transitions(t.rows)
    assert len(episodes) == sum(plan.failures) + (1 if plan.fatal else 0)
    for ep in episodes:
        (failed,) = ep.failures
        assert (failed.atom, failed.attempt) == (ep.reverts[0].atom, ep.reverts[0].attempt)
        assert ep.outcome == ("REVERTED" if failed.atom == "fatal" else "RETRIED")
    if plan.fatal:
        assert len(episodes[-1].reverts) == 1 + len(plan.failures)
    by_time = failures_from_timeline(build_timeline(t.rows, flow_uuid="f"))
    assert [(e.outcome, [(f.atom, f.attempt) for f in e.failures]) for e in by_time] == [
        (e.outcome, [(f.atom, f.attempt) for f in e.failures]) for e in episodes
    ]
