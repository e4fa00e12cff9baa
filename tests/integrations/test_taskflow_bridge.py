"""Real TaskFlow engines recorded by ``recorder.integrations.taskflow`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from taskflow import engines

from recorder.audit import verify_flow
from recorder.cli import main
from recorder.integrations.taskflow import RecordingIncomplete, record
from recorder.persistence import connect
from recorder.persistence.rows import TransitionRow
from tests.integrations import tfflows


def timeline_json(url: str, flow_uuid: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["--db", url, "timeline", flow_uuid, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def attempts(timeline: dict[str, Any]) -> dict[str, list[tuple[int, str, str | None]]]:
    return {
        atom["name"]: [(a["attempt"], a["outcome"], a["revert_outcome"]) for a in atom["attempts"]]
        for atom in timeline["atoms"]
    }


def stored_rows(url: str, flow_uuid: str) -> list[TransitionRow]:
    backend = connect(url)
    try:
        return backend.load_transitions(flow_uuid)
    finally:
        backend.close()


def run_recorded(flow: Any, url: str, **load: Any) -> tuple[Any, str]:
    engine = engines.load(flow, **load)
    with record(engine, backend=url) as bridge:
        engine.run()
    assert bridge.failure_count == 0, bridge.errors
    return engine, str(engine.storage.flow_uuid)


@pytest.mark.parametrize("mode", ["batched", "durable"])
def test_linear_flow_is_recorded_and_verifies(db_url: str, mode: str) -> None:
    engine = engines.load(tfflows.linear())
    with record(engine, backend=db_url, mode=mode) as bridge:
        engine.run()
    flow_uuid = str(engine.storage.flow_uuid)
    assert bridge.failure_count == 0
    result = verify_flow(db_url, flow_uuid)
    assert result.ok, result.reason
    rows = stored_rows(db_url, flow_uuid)
    assert [(r.name, r.old_state, r.new_state) for r in rows] == [
        ("tf-linear", "PENDING", "RUNNING"),
        ("a", "PENDING", "RUNNING"),
        ("a", "RUNNING", "SUCCESS"),
        ("b", "PENDING", "RUNNING"),
        ("b", "RUNNING", "SUCCESS"),
        ("c", "PENDING", "RUNNING"),
        ("c", "RUNNING", "SUCCESS"),
        ("tf-linear", "RUNNING", "SUCCESS"),
    ]
    assert bridge.head == (8, rows[-1].hash)
    assert rows[2].details == {"result": {"type": "str", "repr": "'a()'"}}
    backend = connect(db_url)
    try:
        stored = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    assert stored.state == "SUCCESS"
    assert stored.atoms["c"].results == "c(b(a()))"
    meta = stored.atoms["b"].meta
    assert meta["SUCCESS-timestamp"] >= meta["RUNNING-timestamp"]
    assert meta["duration"] == pytest.approx(meta["SUCCESS-timestamp"] - meta["RUNNING-timestamp"])
    assert "duration" in stored.meta
    assert attempts(timeline_json(db_url, flow_uuid)) == {
        "a": [(1, "SUCCESS", None)],
        "b": [(1, "SUCCESS", None)],
        "c": [(1, "SUCCESS", None)],
    }


def test_graph_flow_on_a_parallel_engine(db_url: str) -> None:
    engine, flow_uuid = run_recorded(tfflows.diamond(), db_url, engine="parallel", max_workers=2)
    assert type(engine).__name__ == "ParallelActionEngine"
    assert verify_flow(db_url, flow_uuid).ok
    rows = stored_rows(db_url, flow_uuid)
    assert [r.seq for r in rows] == list(range(1, 11))
    order = [r.name for r in rows if r.new_state == "SUCCESS"]
    assert order[0] == "start" and order[-2:] == ["join", "tf-diamond"]
    assert set(attempts(timeline_json(db_url, flow_uuid))) == {"start", "left", "right", "join"}


def test_a_retry_that_fails_twice_shows_every_attempt(db_url: str) -> None:
    _, flow_uuid = run_recorded(tfflows.retried(), db_url)
    assert verify_flow(db_url, flow_uuid).ok
    timeline = timeline_json(db_url, flow_uuid)
    assert attempts(timeline) == {
        "again": [(1, "SUCCESS", None), (2, "SUCCESS", None), (3, "SUCCESS", None)],
        "prepare": [(1, "SUCCESS", "REVERTED"), (2, "SUCCESS", "REVERTED"), (3, "SUCCESS", None)],
        "flaky": [(1, "FAILURE", "REVERTED"), (2, "FAILURE", "REVERTED"), (3, "SUCCESS", None)],
    }
    episodes = [
        (
            e["outcome"],
            e["retried_by"],
            [(f["atom"], f["attempt"], f["failure"]["message"]) for f in e["failures"]],
        )
        for e in timeline["failures"]
    ]
    assert episodes == [
        ("RETRIED", "again", [("flaky", 1, "attempt 1 failed")]),
        ("RETRIED", "again", [("flaky", 2, "attempt 2 failed")]),
    ]
    failed = [r for r in stored_rows(db_url, flow_uuid) if r.new_state == "FAILURE"]
    assert failed[0].details == {"failure": {"type": "RuntimeError", "message": "attempt 1 failed"}}


def test_a_reverted_flow(db_url: str) -> None:
    engine = engines.load(tfflows.reverted())
    with record(engine, backend=db_url) as bridge, pytest.raises(ValueError, match="boom"):
        engine.run()
    flow_uuid = str(engine.storage.flow_uuid)
    assert bridge.failure_count == 0
    assert verify_flow(db_url, flow_uuid).ok
    timeline = timeline_json(db_url, flow_uuid)
    assert timeline["flow"]["state"] == "REVERTED"
    assert attempts(timeline) == {
        "first": [(1, "SUCCESS", "REVERTED")],
        "boom": [(1, "FAILURE", "REVERTED")],
    }
    backend = connect(db_url)
    try:
        boom = backend.load_flow(flow_uuid).atoms["boom"]
    finally:
        backend.close()
    assert boom.failure is None or boom.failure.exception_str == "boom in boom"


def test_a_recorder_failure_never_breaks_the_run_but_is_counted(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = connect(sqlite_url, mode="durable")
    engine = engines.load(tfflows.linear())
    with record(engine, backend=backend) as bridge:
        backend.close()  # every write from here on fails
        engine.run()
    assert engine.storage.fetch("c_out") == "c(b(a()))"  # TaskFlow's run went through
    assert bridge.failure_count == 8
    assert "closed" in str(bridge.errors[-1])
    assert "recorder: recording SUCCESS task 'c' failed" in caplog.text
    with pytest.raises(RecordingIncomplete, match="8 recording failure"):
        bridge.check()


def test_a_recorder_database_that_cannot_be_opened_does_not_stop_the_run(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engines.load(tfflows.linear())
    missing = "sqlite:///%s" % (tmp_path / "never-migrated.db")
    with record(engine, backend=missing) as bridge:
        assert not bridge.recording
        engine.run()
    assert engine.storage.fetch("c_out") == "c(b(a()))"
    assert bridge.failure_count == 1 and "does not exist" in str(bridge.errors[0])
    assert "opening the recorder backend failed" in caplog.text
    with pytest.raises(RecordingIncomplete, match="1 recording failure"):
        bridge.check()


def test_a_resumed_taskflow_run_continues_the_chain(sqlite_url: str, tmp_path: Any) -> None:
    tf_backend = tfflows.tf_backend("sqlite:///%s" % (tmp_path / "tf.db"))
    flow = tfflows.reverted("tf-twice")
    engine = engines.load(flow, backend=tf_backend)
    with record(engine, backend=sqlite_url), pytest.raises(ValueError):
        engine.run()
    first = stored_rows(sqlite_url, str(engine.storage.flow_uuid))
    engine.reset()
    with record(engine, backend=sqlite_url), pytest.raises(ValueError):
        engine.run()
    rows = stored_rows(sqlite_url, str(engine.storage.flow_uuid))
    assert rows[: len(first)] == first and len(rows) > len(first)
    assert rows[len(first)].prev_hash == first[-1].hash
    assert verify_flow(sqlite_url, str(engine.storage.flow_uuid)).ok
