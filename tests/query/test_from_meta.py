"""Timelines from TaskFlow-style meta: what comes back, and what is declared unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import create_engine

from recorder import demo, engines
from recorder.listeners.timing import DurationListener, EventTimeListener
from recorder.persistence.urls import normalize
from recorder.query import get_flow, load_report, timeline_from_meta
from tests.query.runs import record_demo
from tests.query.trail import T0, at


@dataclass
class Flow:
    meta: dict[str, Any]
    uuid: str = "f-1"
    name: str = "taskflow-flow"


@dataclass
class Atom:
    name: str
    meta: dict[str, Any]
    kind: str = "task"
    state: str | None = "SUCCESS"
    attempt: int = 0
    failure: Any = None
    uuid: str = field(default="")

    def __post_init__(self) -> None:
        self.uuid = self.uuid or "uuid-" + self.name


def ts(seconds: float) -> float:
    return at(seconds).timestamp()


def test_taskflow_meta_gives_only_the_latest_attempt_and_says_so() -> None:
    # What TaskFlow leaves after 'flaky' failed twice and then succeeded: one
    # timestamp per state (the latest) and the latest duration.
    flaky = Atom(
        "flaky",
        {
            "RUNNING-timestamp": ts(5.0),
            "FAILURE-timestamp": ts(3.0),
            "REVERTED-timestamp": ts(3.2),
            "PENDING-timestamp": ts(3.3),
            "SUCCESS-timestamp": ts(5.5),
            "duration": 0.5,
        },
        attempt=3,
        failure={"exc_type_names": ["RuntimeError", "Exception"], "exception_str": "flaky 2"},
    )
    ok = Atom("ok", {"RUNNING-timestamp": ts(0.5), "SUCCESS-timestamp": ts(1.0)})
    flow = Flow({"RUNNING-timestamp": ts(0.0), "SUCCESS-timestamp": ts(6.0)})
    tl = timeline_from_meta(flow, [ok, flaky])
    assert tl.source == "meta"
    (only,) = tl.atom("flaky").attempts
    assert only.number == 3 and only.outcome == "SUCCESS"
    running = only.phase("running")
    assert running is not None and running.started_at == at(5.0) and running.ended_at == at(5.5)
    assert any(n.startswith("flaky: earlier attempts") for n in tl.unknown)
    assert not any(n.startswith("ok:") for n in tl.unknown)
    assert [(r.started_at, r.ended_at, r.end_state) for r in tl.runs] == [(T0, at(6.0), "SUCCESS")]


def test_meta_with_no_times_is_declared_unknown() -> None:
    tl = timeline_from_meta(Flow({}), [Atom("a", {"duration": 0.25})])
    assert tl.atom("a").attempts == ()
    assert tl.runs == ()
    assert any("only a duration of 0.250 s" in n for n in tl.unknown)
    assert not any("flow's runs" in n for n in tl.unknown)  # nothing ran that could have runs
    timed = timeline_from_meta(Flow({}), [Atom("a", {"RUNNING-timestamp": ts(1)})])
    assert any("flow's runs" in n for n in timed.unknown)
    assert timed.atom("a").attempts[0].open


def test_recorder_timestamp_lists_bring_back_every_attempt() -> None:
    meta = {
        "RUNNING-timestamps": [ts(0), ts(2)],
        "FAILURE-timestamps": [ts(1)],
        "REVERTING-timestamps": [ts(1.1)],
        "REVERTED-timestamps": [ts(1.2)],
        "SUCCESS-timestamps": [ts(3)],
    }
    failure = {"exc_type_names": ["KeyError"], "exception_str": "'k'"}
    tl = timeline_from_meta(Flow({}), [Atom("a", meta, failure=failure)])
    first, second = tl.atom("a").attempts
    assert (first.outcome, first.revert_outcome, second.outcome) == (
        "FAILURE",
        "REVERTED",
        "SUCCESS",
    )
    assert first.failure is not None and first.failure.type == "KeyError"
    wait = second.phase("waiting")
    assert wait is not None and (wait.started_at, wait.ended_at) == (at(1.2), at(2))


def test_a_flow_recorded_without_transitions_falls_back_to_meta(db_url: str) -> None:
    engine = engines.load(
        demo.build(50.0), store=demo.STORE, engine="parallel", backend=db_url, trail=False
    )
    with (
        DurationListener(engine),
        EventTimeListener(engine),
        pytest.raises(demo.CourierUnavailable),
    ):
        engine.run()
    engine.close()
    record_demo(db_url)  # another flow in the same database, with transitions
    sql = create_engine(normalize(db_url))
    with sql.connect() as conn:
        report = load_report(conn, get_flow(conn, engine.storage.flow_uuid))
    sql.dispose()
    tl = report.timeline
    assert tl.source == "meta"
    assert [a.outcome for a in tl.atom("fetch-shipping-quote").attempts] == [
        "FAILURE",
        "FAILURE",
        "SUCCESS",
    ]
    assert tl.runs[-1].end_state == "REVERTED"
    assert report.failures[-1].failures[0].atom == "book-courier"
    assert report.failures[-1].outcome == "REVERTED"
    assert report.critical_path is not None
