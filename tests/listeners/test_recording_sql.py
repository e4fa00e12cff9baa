"""The transitions trail in SQL (SQLite and PostgreSQL): complete, chained, tamper-evident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import recorder
from recorder import engines, retry, states
from recorder.audit import verify_chain, verify_flow
from recorder.listeners.recording import TransitionRecorder, recorder_for
from recorder.patterns import linear_flow, unordered_flow
from recorder.persistence import connect
from recorder.persistence.coltypes import parse_sqlite_time
from recorder.persistence.urls import normalize
from recorder.storage import to_datetime
from tests.support.sample_tasks import Const, FailsTimes, Sleepy


def _when(value: Any) -> datetime:
    """A view's time column: a datetime on PostgreSQL, recorder's UTC text on SQLite."""
    return value if isinstance(value, datetime) else parse_sqlite_time(value)


def retried_flow() -> linear_flow.Flow:
    inner = linear_flow.Flow("inner", retry=retry.Times(5, "r1")).add(
        Const("ok", name="ok"), FailsTimes(2, name="flaky")
    )
    return linear_flow.Flow("outer").add(inner)


@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_serial_run_is_recorded_in_sql_and_verifies(db_url: str, mode: str) -> None:
    with connect(db_url, mode=mode) as backend:
        engine = engines.load(retried_flow(), backend=backend)  # the trail is on by default
        with recorder.record(engine) as rec:  # reuses it, adding the timing listeners
            engine.run()
        uuid = engine.storage.flow_uuid
        rows = backend.load_transitions(uuid)
        assert rec.transitions is not None and rec.transitions is recorder_for(engine.storage)
        assert rec.transitions.head == backend.last_transition(uuid) == (34, rows[-1].hash)
        result = verify_flow(backend, uuid)
        assert result.ok and result.checked == 34
        meta = backend.load_flow(uuid).atoms["flaky"].meta
    assert [r.seq for r in rows] == list(range(1, 35))
    assert [r.attempt for r in rows if r.name == "flaky" and r.new_state == "RUNNING"] == [1, 2, 3]
    failure = next(r for r in rows if r.name == "flaky" and r.new_state == states.FAILURE)
    assert failure.details == {"failure": {"type": "RuntimeError", "message": "flaky 1"}}
    assert all(r.at.tzinfo is not None for r in rows)
    # The per-attempt history is in the rows (atom_attempts view); meta keeps
    # TaskFlow's "latest" keys, equal to the rows to the microsecond.
    views = create_engine(normalize(db_url))
    try:
        with views.connect() as conn:
            attempts = conn.execute(
                text(
                    "SELECT attempt, outcome, reverted, started_at, finished_at, duration_s"
                    " FROM atom_attempts WHERE flow_uuid = :f AND atom_name = 'flaky'"
                    " ORDER BY attempt"
                ),
                {"f": uuid},
            ).all()
    finally:
        views.dispose()  # the pool's connection is closed now, not left to the GC
    assert [(a.attempt, a.outcome, bool(a.reverted)) for a in attempts] == [
        (1, "FAILURE", True),
        (2, "FAILURE", True),
        (3, "SUCCESS", False),
    ]
    runs = [r.at for r in rows if r.name == "flaky" and r.new_state == states.RUNNING]
    assert [_when(a.started_at) for a in attempts] == runs
    last = attempts[-1]
    assert meta["duration"] == pytest.approx(last.duration_s, abs=2e-6)
    assert to_datetime(meta["RUNNING-timestamp"]) == runs[-1]
    assert "durations" not in meta and "RUNNING-timestamps" not in meta  # not written twice
    # Reading by URL (a fresh connection, rows as the database returns them).
    assert verify_flow(db_url, uuid).ok


def test_parallel_run_is_recorded_in_sql_and_verifies(db_url: str) -> None:
    flow = unordered_flow.Flow("u").add(
        *(Sleepy(0.005 * (i % 3), name="s%d" % i) for i in range(10)),
        linear_flow.Flow("inner", retry=retry.Times(3, "r")).add(FailsTimes(1, name="flaky")),
    )
    with connect(db_url, mode="batched") as backend:
        engine = engines.load(flow, backend=backend, trail=False, engine="parallel", max_workers=4)
        with TransitionRecorder(engine):
            engine.run()
        rows = backend.load_transitions(engine.storage.flow_uuid)
        assert verify_flow(backend, engine.storage.flow_uuid).ok
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 2 + 10 * 2 + (2 * 2 + 1) + (5 + 2)
    assert [r.attempt for r in rows if r.name == "flaky" and r.new_state == "RUNNING"] == [1, 2]


def test_a_resumed_flow_continues_the_chain_in_another_backend(db_url: str) -> None:
    flow = linear_flow.Flow("f").add(Const(1, name="a"), FailsTimes(1, name="flaky"))
    with connect(db_url) as backend:
        engine = engines.load(flow, backend=backend)  # the default trail
        with pytest.raises(RuntimeError):
            engine.run()
        uuid = engine.storage.flow_uuid
        first = len(backend.load_transitions(uuid))
    with connect(db_url, mode="batched") as backend:
        again = engines.load(flow, backend=backend, flow_detail=uuid)
        again.run()
        rows = backend.load_transitions(uuid)
        assert verify_flow(backend, uuid).ok
    assert rows[first].seq == first + 1 and rows[first].prev_hash == rows[first - 1].hash
    assert rows[-1].kind == "flow" and rows[-1].new_state == states.SUCCESS


def recorded(db_url: str) -> str:
    with connect(db_url) as backend:
        engine = engines.load(retried_flow(), backend=backend, trail=False)
        with TransitionRecorder(engine):
            engine.run()
        return engine.storage.flow_uuid


def tamper(db_url: str, *statements: str, **params: Any) -> None:
    """Run statements as a database owner would (on PostgreSQL, past the append-only trigger)."""
    engine = create_engine(normalize(db_url))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("ALTER TABLE transitions DISABLE TRIGGER transitions_append_only")
                )
            for statement in statements:
                conn.execute(text(statement), params)
            if conn.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE transitions ENABLE TRIGGER transitions_append_only"))
    finally:
        engine.dispose()


def test_an_altered_row_is_found_at_its_seq(db_url: str) -> None:
    uuid = recorded(db_url)
    tamper(
        db_url,
        "UPDATE transitions SET new_state = 'SUCCESS' WHERE flow_uuid = :f AND seq = 7",
        f=uuid,
    )
    result = verify_flow(db_url, uuid)
    assert (result.ok, result.first_bad_seq) == (False, 7) and "altered" in result.reason


def test_a_deleted_row_is_found_at_its_seq(db_url: str) -> None:
    uuid = recorded(db_url)
    tamper(db_url, "DELETE FROM transitions WHERE flow_uuid = :f AND seq = 12", f=uuid)
    result = verify_flow(db_url, uuid)
    assert (result.ok, result.first_bad_seq) == (False, 12) and "missing" in result.reason


def test_an_inserted_row_is_found_at_its_seq(db_url: str) -> None:
    uuid = recorded(db_url)
    # Replace row 20 by a forged copy of row 19 claiming seq 20 and linking to it.
    tamper(
        db_url,
        "DELETE FROM transitions WHERE flow_uuid = :f AND seq = 20",
        "INSERT INTO transitions (flow_uuid, atom_uuid, kind, name, old_state, new_state, at,"
        " seq, attempt, details, prev_hash, hash)"
        " SELECT flow_uuid, atom_uuid, kind, name, old_state, new_state, at, 20, attempt,"
        " details, hash, hash FROM transitions WHERE flow_uuid = :f AND seq = 19",
        f=uuid,
    )
    result = verify_flow(db_url, uuid)
    assert (result.ok, result.first_bad_seq) == (False, 20)


def test_reordered_rows_are_found_at_their_seq(db_url: str) -> None:
    uuid = recorded(db_url)
    tamper(
        db_url,
        "UPDATE transitions SET seq = 1000 WHERE flow_uuid = :f AND seq = 5",
        "UPDATE transitions SET seq = 5 WHERE flow_uuid = :f AND seq = 6",
        "UPDATE transitions SET seq = 6 WHERE flow_uuid = :f AND seq = 1000",
        f=uuid,
    )
    result = verify_flow(db_url, uuid)
    assert (result.ok, result.first_bad_seq) == (False, 5)


@pytest.mark.postgres
def test_postgresql_refuses_to_rewrite_the_trail(pg_url: str) -> None:
    uuid = recorded(pg_url)
    engine = create_engine(normalize(pg_url))
    try:
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM transitions WHERE flow_uuid = :f"), {"f": uuid})
    finally:
        engine.dispose()
    assert verify_flow(pg_url, uuid).checked == 34


def test_rows_read_back_hash_like_the_rows_written(db_url: str) -> None:
    with connect(db_url) as backend:
        engine = engines.load(
            linear_flow.Flow("f").add(Const("caf\u00e9 \x00", name="a")),
            backend=backend,
            trail=False,
        )
        with TransitionRecorder(engine):
            engine.run()
        rows = backend.load_transitions(engine.storage.flow_uuid)
    assert verify_chain(rows).ok
    (success,) = [r for r in rows if r.new_state == states.SUCCESS and r.kind == "task"]
    assert success.details == {"result": {"type": "str", "repr": "'caf\u00e9 \\x00'"}}


@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_a_tasks_stored_update_time_is_its_last_state_change(db_url: str, mode: str) -> None:
    """The timing listeners' meta joins the state change's write, so the row's
    updated_at is the time of the change itself, as its trail row has it."""
    with connect(db_url, mode=mode) as backend:
        engine = engines.load(linear_flow.Flow("f").add(Const(1, name="one")), backend=backend)
        with recorder.record(engine):
            engine.run()
        backend.flush()
        flow_uuid = engine.storage.flow_uuid
        stored = backend.load_flow(flow_uuid).atoms["one"]
        (last,) = [
            row
            for row in backend.load_transitions(flow_uuid)
            if row.name == "one" and row.new_state == states.SUCCESS
        ]
        assert to_datetime(stored.meta["SUCCESS-timestamp"]) == last.at
        assert "duration" in stored.meta and stored.meta["progress"] == 1.0
        assert stored.updated_at == last.at
