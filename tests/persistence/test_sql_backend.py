"""What only the SQL backend promises: idempotent retries, statement counts,
group commit, back-pressure, errors that surface, odd input that still lands."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, text

from recorder.exceptions import InvalidArgument, StorageError, WriteFailed
from recorder.persistence import connect
from recorder.persistence.encoding import StoredRepr
from recorder.persistence.memory import MemoryBackend
from recorder.persistence.models import new_uuid
from recorder.persistence.ops import (
    AppendTransition,
    Op,
    SaveAtom,
    SaveFlow,
    UpdateAtom,
    UpdateFlow,
)
from recorder.persistence.sql import SQLBackend
from tests.persistence.helpers import Flow, at, later, transitions_of


def _count(backend: SQLBackend, table: str) -> int:
    with backend.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM %s" % table)).scalar_one())


class StatementLog:
    """Every statement SQLAlchemy sends on an engine (executemany counts once)."""

    def __init__(self, backend: SQLBackend) -> None:
        self.statements: list[str] = []
        self.backend = backend
        event.listen(backend.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement.split()[0].upper())

    def __enter__(self) -> StatementLog:
        self.statements.clear()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.backend.flush()


def test_retried_batches_are_idempotent(sql_backend: SQLBackend) -> None:
    flow = Flow(sql_backend, atoms=("a",))
    batch: list[Op] = [
        flow.transition(None, "PENDING", "RUNNING", 1),
        flow.transition("a", "PENDING", "RUNNING", 2, attempt=1),
        UpdateAtom(flow.atoms["a"], later(), {"state": "RUNNING"}, {"k": 1}),
    ]
    sql_backend.write(batch)
    sql_backend.write(batch)  # what a retry after an unknown commit outcome does
    sql_backend.flush()
    assert [t.seq for t in sql_backend.load_transitions(flow.uuid)] == [0, 1]
    assert sql_backend.load_flow(flow.uuid).atoms["a"].meta == {"k": 1}


def test_each_op_is_one_statement_and_nothing_is_read(sql_backend: SQLBackend) -> None:
    flow = Flow(sql_backend, atoms=("a",))
    sql_backend.flush()
    log = StatementLog(sql_backend)
    with log:
        for index in range(3):
            sql_backend.write(
                [
                    UpdateAtom(flow.atoms["a"], later(), {"state": "RUNNING"}, {"x": index}),
                    flow.transition("a", "PENDING", "RUNNING", index, attempt=index),
                ]
            )
    writes = [s for s in log.statements if s in ("INSERT", "UPDATE")]
    assert "SELECT" not in log.statements
    if sql_backend.mode == "durable":
        assert len(writes) == 6  # one per op
    else:
        assert len(writes) <= 6
        assert sql_backend.stats.ops >= 6


def test_batched_mode_uses_executemany_for_same_shaped_ops(sqlite_url: str) -> None:
    backend = connect(sqlite_url, mode="batched", flush_interval=10.0, batch_size=1000)
    try:
        flow = Flow(backend, atoms=("a",))
        backend.flush()
        log = StatementLog(backend)
        with log:
            backend.write([flow.transition("a", "PENDING", "RUNNING", i) for i in range(200)])
        assert log.statements == ["INSERT"]
        assert _count(backend, "transitions") == 200
    finally:
        backend.close()


def test_durable_writes_from_many_threads_share_commits(db_url: str) -> None:
    backend = connect(db_url, mode="durable")
    flows = [Flow(backend, atoms=("a",), name="f%d" % i) for i in range(8)]
    before = backend.stats.commits
    per_thread = 100

    def work(flow: Flow) -> None:
        for i in range(per_thread):
            backend.write([flow.transition("a", "PENDING", "RUNNING", i)])

    threads = [threading.Thread(target=work, args=(flow,)) for flow in flows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    commits = backend.stats.commits - before
    try:
        assert _count(backend, "transitions") == 8 * per_thread
        assert commits < 8 * per_thread  # some writers shared a commit
        for flow in flows:
            seqs = [t.seq for t in backend.load_transitions(flow.uuid)]
            assert seqs == list(range(per_thread))
    finally:
        backend.close()


def test_durable_error_fails_only_the_write_that_caused_it(db_url: str) -> None:
    backend = connect(db_url, mode="durable")
    try:
        flow = Flow(backend, atoms=("a",))
        with pytest.raises(WriteFailed) as caught:
            # No such logbook: the foreign key refuses the row.
            backend.write([SaveFlow(new_uuid(), new_uuid(), "orphan", None, {}, at())])
        assert "\n" not in str(caught.value)
        assert isinstance(caught.value, StorageError)
        backend.write([UpdateFlow(flow.uuid, later(), state="RUNNING")])
        assert backend.load_flow(flow.uuid).state == "RUNNING"
        assert _count(backend, "flow_details") == 1
    finally:
        backend.close()


def test_batched_queue_is_bounded_and_pushes_back(sqlite_url: str) -> None:
    backend = connect(sqlite_url, mode="batched", queue_size=20, batch_size=5, busy_timeout=30)
    flow = Flow(backend, atoms=("a",))
    backend.flush()
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # hold the write lock: the writer cannot commit
    written = 0
    max_pending = 0

    def produce() -> None:
        nonlocal written, max_pending
        for i in range(100):
            backend.write([flow.transition("a", "PENDING", "RUNNING", i)])
            written += 1
            max_pending = max(max_pending, backend.pending())

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.5)
    try:
        assert producer.is_alive()  # blocked in write(): the queue is full
        assert written <= 20
        assert backend.pending() <= 20
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    producer.join(timeout=30)
    backend.flush()
    assert written == 100 and max_pending <= 20
    assert [t.seq for t in backend.load_transitions(flow.uuid)] == list(range(100))
    backend.close()


def test_locked_sqlite_is_retried_then_reported(sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    backend = connect(sqlite_url, busy_timeout=0.05, retry_for=5.0)
    flow = Flow(backend, atoms=("a",))
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.4, lambda: blocker.execute("ROLLBACK"))
    release.start()
    backend.write([UpdateFlow(flow.uuid, later(), state="RUNNING")])  # waits, retries, lands
    release.join()
    assert backend.stats.retries > 0
    assert backend.load_flow(flow.uuid).state == "RUNNING"
    backend.close()

    impatient = connect(sqlite_url, busy_timeout=0.05, retry_for=0.3)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(WriteFailed, match="locked"):
            impatient.write([UpdateFlow(flow.uuid, later(), state="SUCCESS")])
        assert time.monotonic() - started < 3
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert impatient.load_flow(flow.uuid).state == "RUNNING"
    impatient.close()


def test_bad_ops_are_refused_at_write_time(sql_backend: SQLBackend) -> None:
    flow = Flow(sql_backend, atoms=("a",))
    with pytest.raises(InvalidArgument, match="naive"):
        sql_backend.write([UpdateFlow(flow.uuid, datetime(2024, 1, 1), state="RUNNING")])
    with pytest.raises(InvalidArgument, match="cannot change"):
        sql_backend.write([UpdateAtom(flow.atoms["a"], later(), {"name": "x"})])
    with pytest.raises(InvalidArgument, match="meta keys"):
        sql_backend.write([UpdateAtom(flow.atoms["a"], later(), {}, {3: "x"})])  # type: ignore[dict-item]
    sql_backend.flush()
    loaded = sql_backend.load_flow(flow.uuid)
    assert loaded.state == "PENDING" and loaded.updated_at is None


def test_an_update_of_a_known_shape_still_has_its_values_checked(
    sql_backend: SQLBackend,
) -> None:
    """A shape's field names and keys are checked once; the values on every write."""
    flow = Flow(sql_backend, atoms=("a",))
    atom = flow.atoms["a"]
    sql_backend.write([UpdateAtom(atom, later(), {"state": "RUNNING", "attempt": 1}, {"k": 1})])
    with pytest.raises(InvalidArgument, match="state must be a string"):
        sql_backend.write([UpdateAtom(atom, later(), {"state": 7, "attempt": 2}, {"k": 2})])
    with pytest.raises(InvalidArgument, match="meta keys"):
        sql_backend.write([UpdateAtom(atom, later(), {"state": "RUNNING"}, {"k\x00": 2})])
    sql_backend.flush()
    stored = sql_backend.load_flow(flow.uuid).atoms["a"]
    assert (stored.state, stored.attempt, stored.meta) == ("RUNNING", 1, {"k": 1})


def test_unserialisable_and_huge_results_are_stored(sql_backend: SQLBackend) -> None:
    flow = Flow(sql_backend, atoms=("odd", "huge"))

    class Thing:
        def __repr__(self) -> str:
            return "Thing()"

    odd = {
        "obj": Thing(),
        "set": {1},
        "bytes": b"\x00\x01",
        "nan": float("nan"),
        "big": 2**80,
        "text": "nul\x00 and \ud800",
    }
    huge = "x" * (10 * 1024 * 1024)
    sql_backend.write(
        [
            UpdateAtom(flow.atoms["odd"], later(), {"results": odd, "state": "SUCCESS"}),
            UpdateAtom(flow.atoms["huge"], later(), {"results": huge, "state": "SUCCESS"}),
        ]
    )
    atoms = sql_backend.load_flow(flow.uuid).atoms
    stored = atoms["odd"].results
    assert stored["obj"] == StoredRepr(
        type=Thing.__module__ + "." + Thing.__qualname__, repr="Thing()"
    )
    assert stored["set"] == StoredRepr(type="set", repr="{1}")
    assert stored["bytes"] == b"\x00\x01"
    assert stored["nan"] != stored["nan"]
    assert stored["big"] == 2**80
    assert stored["text"] == "nul\x00 and \ud800"
    assert atoms["huge"].results == huge


NASTY = [
    "Robert'); DROP TABLE flow_details;--",
    'double " quote',
    "percent %s %(name)s :name ? $1",
    "ünïcode ✓ 😀 名前",
    "back\\slash\nnewline\ttab",
]


@pytest.mark.parametrize("name", NASTY)
def test_names_and_keys_with_metacharacters(sql_backend: SQLBackend, name: str) -> None:
    flow = Flow(sql_backend, atoms=(name, "plain"), name=name)
    sql_backend.write(
        [
            UpdateAtom(flow.atoms[name], later(), {"results": name}, {name: name}),
            flow.transition(name, "PENDING", "RUNNING", 1, details={name: name}),
        ]
    )
    loaded = sql_backend.load_flow(flow.uuid)
    assert loaded.name == name
    assert loaded.atoms[name].results == name
    assert loaded.atoms[name].meta == {name: name}
    assert sql_backend.load_transitions(flow.uuid)[0].details == {name: name}
    assert sql_backend.latest_flow_by_name(name) is not None
    assert _count(sql_backend, "flow_details") == 1


def test_latest_flow_by_name(sql_backend: SQLBackend) -> None:
    first = Flow(sql_backend, atoms=("a",), name="nightly")
    second_uuid = new_uuid()
    sql_backend.write(
        [
            SaveFlow(second_uuid, first.logbook, "nightly", "PENDING", {}, at(60)),
            SaveAtom(new_uuid(), second_uuid, "a", "task", None, "EXECUTE", None, {}, at(61)),
        ]
    )
    latest = sql_backend.latest_flow_by_name("nightly")
    assert latest is not None and latest.uuid == second_uuid
    assert list(latest.atoms) == ["a"]
    assert sql_backend.latest_flow_by_name("never ran") is None


def test_times_are_stored_as_utc_with_microseconds(db_url: str) -> None:
    backend = connect(db_url)
    try:
        flow = Flow(backend, atoms=("a",))
        backend.write([flow.transition("a", "PENDING", "RUNNING", 0.000001)])
        with backend.engine.connect() as conn:
            raw = conn.execute(text("SELECT at FROM transitions")).scalar_one()
        if backend.dialect == "sqlite":
            assert raw == "2024-05-17 12:00:00.123457+00:00"
        else:
            assert raw == at(0.000001)
        assert backend.load_transitions(flow.uuid)[0].at == at(0.000001)
    finally:
        backend.close()


@pytest.mark.parametrize("seed", range(4))
def test_batches_folded_into_few_statements_equal_op_by_op_application(
    db_url: str, seed: int
) -> None:
    """Batched mode reorders and folds ops inside a transaction: same end state as memory."""
    rng = random.Random(seed)
    memory = MemoryBackend()
    backend = connect(db_url, mode="batched", flush_interval=60.0, batch_size=10_000)
    try:
        flow = Flow(memory, atoms=("a", "b", "c"))
        backend.write(flow.save_ops())  # the same rows in both
        keys = ["x", "y", 'q"uote', "dot.ted", "n"]
        ops: list[Any] = []
        for step in range(60):
            atom = flow.atoms[rng.choice("abc")]
            changes: dict[str, Any] = {}
            if rng.random() < 0.6:
                changes["state"] = rng.choice(["RUNNING", "SUCCESS", "FAILURE", "PENDING"])
            if rng.random() < 0.3:
                changes["results"] = rng.choice([None, step, {"v": [step]}, "s%d" % step])
            if rng.random() < 0.2:
                changes["attempt"] = step
            patch = {
                k: rng.choice([None, step, {"d": step}, [step]])
                for k in rng.sample(keys, rng.randint(0, 3))
            }
            ops.append(UpdateAtom(atom, later(), changes, patch or None))
            if rng.random() < 0.3:
                ops.append(
                    UpdateFlow(flow.uuid, later(), rng.choice([None, "RUNNING"]), patch or None)
                )
            if rng.random() < 0.4:
                ops.append(flow.transition(rng.choice("abc"), "PENDING", "RUNNING", step))
        memory.write(ops)
        backend.write(ops)
        backend.flush()
        assert backend.stats.commits <= 2
        expected, actual = memory.load_flow(flow.uuid), backend.load_flow(flow.uuid)
        assert (actual.state, actual.meta, actual.updated_at) == (
            expected.state,
            expected.meta,
            expected.updated_at,
        )
        for name in "abc":
            want, got = expected.atoms[name], actual.atoms[name]
            assert (got.state, got.results, got.attempt, got.meta, got.updated_at) == (
                want.state,
                want.results,
                want.attempt,
                want.meta,
                want.updated_at,
            )
        assert backend.load_transitions(flow.uuid) == transitions_of(memory, flow.uuid)
    finally:
        backend.close()


def test_a_bad_write_sharing_a_group_commit_fails_alone(sqlite_url: str) -> None:
    backend = connect(sqlite_url, mode="durable", busy_timeout=30)
    flow = Flow(backend, atoms=("a",))
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the first writer waits here, the others queue up
    outcome: dict[str, BaseException | None] = {}

    def write(name: str, op: Any) -> None:
        try:
            backend.write([op])
            outcome[name] = None
        except BaseException as exc:
            outcome[name] = exc

    leader = threading.Thread(
        target=write, args=("leader", UpdateFlow(flow.uuid, later(), state="RUNNING"))
    )
    leader.start()
    time.sleep(0.2)
    followers = [
        threading.Thread(
            target=write, args=("bad", SaveFlow(new_uuid(), new_uuid(), "orphan", None, {}, at()))
        ),
        threading.Thread(
            target=write, args=("good", UpdateAtom(flow.atoms["a"], later(), {"state": "RUNNING"}))
        ),
    ]
    for thread in followers:
        thread.start()
    time.sleep(0.2)
    commits = backend.stats.commits
    blocker.execute("ROLLBACK")
    blocker.close()
    for thread in [leader, *followers]:
        thread.join(timeout=30)
    assert outcome["leader"] is None and outcome["good"] is None
    assert isinstance(outcome["bad"], WriteFailed)
    assert backend.stats.commits - commits == 2  # leader's own, then bad + good together
    loaded = backend.load_flow(flow.uuid)
    assert loaded.state == "RUNNING" and loaded.atoms["a"].state == "RUNNING"
    backend.close()


def test_batched_commits_within_the_flush_interval_without_a_flush(sqlite_url: str) -> None:
    backend = connect(sqlite_url, mode="batched", flush_interval=0.05)
    flow = Flow(backend, atoms=("a",))
    backend.write([flow.transition("a", "PENDING", "RUNNING", 0)])
    observer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        deadline = time.monotonic() + 5
        count = 0
        while time.monotonic() < deadline and count == 0:
            time.sleep(0.02)
            count = observer.execute("SELECT count(*) FROM transitions").fetchone()[0]
        assert count == 1  # committed by the timer, not by a flush or a load
        assert backend.pending() == 0
    finally:
        observer.close()
        backend.close()


def _forked(backend: Any) -> tuple[Flow, AppendTransition, list[Op]]:
    """A flow with one stored trail row, and a second writer's write that numbers its
    own row from the same head (another engine on the flow, a killed one's late commit)."""
    flow = Flow(backend, atoms=("a",))
    first = flow.transition(None, "PENDING", "RUNNING", 1)
    backend.write([first])
    backend.flush()
    flow.seq = first.seq
    fork = replace(flow.transition("a", "PENDING", "RUNNING", 2, attempt=1), hash="another")
    return flow, first, [UpdateAtom(flow.atoms["a"], later(), {"state": "RUNNING"}), fork]


@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_a_different_row_at_a_stored_seq_fails_the_write(db_url: str, mode: str) -> None:
    """Not silently skipped: the write fails, saying why, and nothing of it is stored."""
    backend = connect(db_url, mode=mode)
    flow, first, write = _forked(backend)
    with pytest.raises(WriteFailed, match="another transitions row at seq 0") as caught:
        backend.write(write)
        backend.flush()
    assert caught.value.first_unstored_seq == {flow.uuid: 0}
    assert "\n" not in str(caught.value)
    with contextlib.suppress(WriteFailed):  # a batched writer stays stopped
        backend.close()
    reader = connect(db_url)
    try:
        assert [row.hash for row in reader.load_transitions(flow.uuid)] == [first.hash]
        assert reader.load_flow(flow.uuid).atoms["a"].state == "PENDING"
    finally:
        reader.close()


def test_the_memory_backend_refuses_a_forked_trail_as_a_whole() -> None:
    backend = MemoryBackend()
    flow, first, write = _forked(backend)
    with pytest.raises(WriteFailed, match="another transitions row at seq 0"):
        backend.write(write)
    assert [row.hash for row in backend.load_transitions(flow.uuid)] == [first.hash]
    assert backend.load_flow(flow.uuid).atoms["a"].state == "PENDING"
