"""Timing listeners: TaskFlow's 'latest' keys plus every attempt, on the engine's clock."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from recorder import engines, retry, states, task
from recorder.exceptions import StorageError
from recorder.listeners import capturing, timing
from recorder.patterns import linear_flow, unordered_flow
from tests.support.sample_tasks import Boom, Const, FailsTimes, Sleepy


def stamps(events: list[Any], name: str, state: str) -> list[float]:
    """Engine timestamps of ``name`` entering ``state``, from captured events."""
    key = {"flow": "flow_name", "task": "task_name", "retry": "retry_name"}
    return [d["timestamp"] for kind, s, d in events if s == state and d.get(key[kind]) == name]


def test_duration_for_tasks_retries_and_the_flow_from_engine_timestamps() -> None:
    flow = linear_flow.Flow("f", retry=retry.Times(1, "r")).add(Sleepy(0.01, name="t"))
    engine = engines.load(flow)
    with timing.DurationListener(engine), capturing.CaptureListener(engine) as capture:
        engine.run()
    events = capture.values
    for kind, name, meta in [
        ("task", "t", engine.storage.get_atom_meta("t")),
        ("retry", "r", engine.storage.get_atom_meta("r")),
        ("flow", "f", engine.storage.flow_meta),
    ]:
        started = stamps(events, name, states.RUNNING)[0]
        finished = stamps(events, name, states.SUCCESS)[0]
        assert meta["duration"] == finished - started, (kind, name)
        assert meta["durations"] == [
            {
                "attempt": 1,
                "phase": "execute",
                "started": started,
                "finished": finished,
                "duration": finished - started,
                "state": states.SUCCESS,
            }
        ]
    assert engine.storage.get_atom_meta("t")["duration"] >= 0.01


def test_times_3_retried_task_keeps_every_attempt() -> None:
    flow = linear_flow.Flow("f", retry=retry.Times(3, "r")).add(Boom("boom"))
    engine = engines.load(flow)
    durations, times = timing.DurationListener(engine), timing.EventTimeListener(engine)
    capture = capturing.CaptureListener(engine)
    with durations, times, capture, pytest.raises(RuntimeError):
        engine.run()
    meta = engine.storage.get_atom_meta("boom")
    history = meta["durations"]
    assert [(e["attempt"], e["phase"], e["state"]) for e in history] == [
        (1, "execute", "FAILURE"),
        (1, "revert", "REVERTED"),
        (2, "execute", "FAILURE"),
        (2, "revert", "REVERTED"),
        (3, "execute", "FAILURE"),
        (3, "revert", "REVERTED"),
    ]
    runs = stamps(capture.values, "boom", states.RUNNING)
    assert [e["started"] for e in history if e["phase"] == "execute"] == runs
    assert all(e["duration"] == e["finished"] - e["started"] for e in history)
    # TaskFlow's keys still mean "the latest".
    assert meta["duration"] == history[-1]["duration"]
    assert meta["RUNNING-timestamp"] == runs[-1]
    assert meta["RUNNING-timestamps"] == runs
    assert meta["FAILURE-timestamps"] == stamps(capture.values, "boom", states.FAILURE)
    assert meta["PENDING-timestamps"] == stamps(capture.values, "boom", states.PENDING)
    assert len(meta["PENDING-timestamps"]) == 2
    retry_history = engine.storage.get_atom_meta("r")["durations"]
    assert [e["attempt"] for e in retry_history if e["phase"] == "execute"] == [1, 2, 3]


def test_slow_task_then_revert_keeps_both_phases() -> None:
    flow = linear_flow.Flow("f").add(Sleepy(0.2, name="slow"), Boom("boom"))
    engine = engines.load(flow)
    with timing.DurationListener(engine), pytest.raises(RuntimeError):
        engine.run()
    meta = engine.storage.get_atom_meta("slow")
    execute, revert = meta["durations"]
    assert (execute["phase"], execute["state"]) == ("execute", "SUCCESS")
    assert (revert["phase"], revert["state"]) == ("revert", "REVERTED")
    assert execute["attempt"] == revert["attempt"] == 1
    assert execute["duration"] >= 0.2
    assert revert["duration"] < 0.2
    assert revert["started"] >= execute["finished"]
    # As in TaskFlow, 'duration' is the latest phase: the short revert.
    assert meta["duration"] == revert["duration"]
    flow_meta = engine.storage.flow_meta
    assert flow_meta["durations"][0]["state"] == states.REVERTED
    assert flow_meta["duration"] >= 0.2


def test_history_continues_across_runs_and_listener_instances() -> None:
    flaky = FailsTimes(1, name="flaky")
    engine = engines.load(linear_flow.Flow("f").add(flaky))
    with timing.DurationListener(engine), pytest.raises(RuntimeError):
        engine.run()
    with timing.DurationListener(engine):
        engine.run()  # a REVERTED flow runs again from PENDING
    flow_runs = engine.storage.flow_meta["durations"]
    assert [(e["attempt"], e["state"]) for e in flow_runs] == [(1, "REVERTED"), (2, "SUCCESS")]
    atom_runs = engine.storage.get_atom_meta("flaky")["durations"]
    assert [(e["attempt"], e["phase"], e["state"]) for e in atom_runs] == [
        (1, "execute", "FAILURE"),
        (1, "revert", "REVERTED"),
        (2, "execute", "SUCCESS"),
    ]


def test_parallel_engine_durations_per_task() -> None:
    flow = unordered_flow.Flow("u").add(*(Sleepy(0.05, name="s%d" % i) for i in range(4)))
    engine = engines.load(flow, engine="parallel", max_workers=4)
    with timing.DurationListener(engine):
        engine.run()
    for i in range(4):
        meta = engine.storage.get_atom_meta("s%d" % i)
        assert meta["duration"] >= 0.05 and len(meta["durations"]) == 1
    # They overlapped: the flow took far less than the sum.
    assert engine.storage.flow_meta["duration"] < 4 * 0.05


def test_event_times_are_the_engines_not_the_listeners() -> None:
    engine = engines.load(linear_flow.Flow("f").add(Const(1, name="t")))

    def slow(state: str, details: dict[str, Any]) -> None:
        time.sleep(0.01)  # heard before the timing listener (ANY callbacks go first)

    engine.atom_notifier.register("*", slow)
    with timing.EventTimeListener(engine), capturing.CaptureListener(engine) as capture:
        engine.run()
    meta = engine.storage.get_atom_meta("t")
    for state in (states.RUNNING, states.SUCCESS):
        assert meta[timing.timestamp_key(state)] == stamps(capture.values, "t", state)[0]
        assert meta[timing.timestamps_key(state)] == stamps(capture.values, "t", state)
    assert set(meta) == {
        "progress",  # the engine's (TaskFlow's too)
        "RUNNING-timestamp",
        "RUNNING-timestamps",
        "SUCCESS-timestamp",
        "SUCCESS-timestamps",
    }
    flow_meta = engine.storage.flow_meta
    assert flow_meta["RUNNING-timestamp"] == stamps(capture.values, "f", states.RUNNING)[0]
    assert flow_meta["SUCCESS-timestamp"] >= flow_meta["RUNNING-timestamp"]


def test_event_time_listener_listen_for_and_retries() -> None:
    flow = linear_flow.Flow("f", retry=retry.Times(1, "r")).add(Const(1, name="t"))
    engine = engines.load(flow)
    with timing.EventTimeListener(engine, task_listen_for=[states.SUCCESS], flow_listen_for=()):
        engine.run()
    meta = engine.storage.get_atom_meta("t")
    assert set(meta) == {"progress", "SUCCESS-timestamp", "SUCCESS-timestamps"}
    assert "RUNNING-timestamp" in engine.storage.get_atom_meta("r")
    assert "RUNNING-timestamp" not in engine.storage.flow_meta


def test_printing_duration_listener_messages() -> None:
    flow = linear_flow.Flow("f", retry=retry.Times(1, "r")).add(Const(1, name="t"))
    engine = engines.load(flow)
    printed: list[str] = []
    with timing.PrintingDurationListener(engine, printer=printed.append):
        engine.run()
    assert printed[0] == "'f' flow started."
    assert "'t' task started." in printed and "'r' retry started." in printed
    assert any(
        m.startswith("It took task 't' ") and m.endswith(" seconds to finish.") for m in printed
    )
    assert printed[-1].startswith("It took flow 'f' 0.")
    assert len([m for m in printed if m.startswith("It took")]) == 3


def test_printing_duration_listener_default_printer(capsys: pytest.CaptureFixture[str]) -> None:
    engine = engines.load(linear_flow.Flow("f").add(Const(1, name="t")))
    with timing.PrintingDurationListener(engine):
        engine.run()
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["'f' flow started.", "'t' task started."]
    assert out[2].startswith("It took task 't' ")


def test_a_suspended_run_is_kept_without_touching_duration() -> None:
    flow = linear_flow.Flow("f").add(Const(1, name="a"), Const(2, name="b"))
    engine = engines.load(flow)

    def suspend(state: str, details: dict[str, Any]) -> None:
        if details["task_name"] == "a":
            engine.suspend()

    engine.atom_notifier.register(states.SUCCESS, suspend)
    with timing.DurationListener(engine):
        engine.run()
        assert engine.storage.get_flow_state() == states.SUSPENDED
        assert "duration" not in engine.storage.flow_meta
        engine.run()
    meta = engine.storage.flow_meta
    assert [(e["attempt"], e["state"]) for e in meta["durations"]] == [
        (1, states.SUSPENDED),
        (2, states.SUCCESS),
    ]
    assert meta["duration"] == meta["durations"][-1]["duration"]


def test_unfinished_timers_are_reported_on_deregister(caplog: pytest.LogCaptureFixture) -> None:
    listener: list[timing.DurationListener] = []

    class Leaves(task.Task):
        def execute(self) -> None:
            listener[0].deregister()  # while this task's timer runs

    engine = engines.load(linear_flow.Flow("f").add(Leaves("leaves")))
    listener.append(timing.DurationListener(engine))
    caplog.set_level(logging.WARNING, logger="recorder.listeners.timing")
    listener[0].register()
    engine.run()
    assert "duration" not in engine.storage.get_atom_meta("leaves")
    warnings = [r.getMessage() for r in caplog.records if r.name == "recorder.listeners.timing"]
    assert len(warnings) == 1
    assert (
        "2 item(s)" in warnings[0] and "flow 'f'" in warnings[0] and "task 'leaves'" in warnings[0]
    )


def test_a_storage_error_in_a_timing_listener_is_counted_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = engines.load(linear_flow.Flow("f").add(Const(1, name="t")))

    def refuse(name: str, update: dict[str, Any], **options: Any) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(engine.storage, "update_atom_metadata", refuse)
    with timing.DurationListener(engine), timing.EventTimeListener(engine):
        engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    # EventTime: RUNNING and SUCCESS; Duration: SUCCESS -- each one counted and kept.
    assert engine.atom_notifier.failure_count == 3
    assert all(f.failure.check(StorageError) for f in engine.atom_notifier.listener_failures)
    assert "duration" in engine.storage.flow_meta  # flow meta writes were not affected
