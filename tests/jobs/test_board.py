"""The SQL job board on SQLite and PostgreSQL: TaskFlow's rules plus leases, the
claim count as fencing token, priorities, SKIP LOCKED claims, and wake-ups."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from recorder import states
from recorder.exceptions import (
    InvalidArgument,
    InvalidType,
    JobFailure,
    NotFound,
    SchemaMismatch,
    UnclaimableJob,
    WriteFailed,
)
from recorder.jobs import backends
from recorder.jobs.backends.impl_sql import SQLJobBoard
from recorder.jobs.base import JobPriority
from recorder.persistence import connect
from recorder.persistence.models import FlowDetail, LogBook
from recorder.persistence.ops import SaveFlow, SaveLogbook, UpdateFlow
from tests.persistence.helpers import later
from tests.support.faults import execute

EXPIRE_ALL = "UPDATE jobs SET lease_expires_at = '2000-01-01 00:00:00.000000+00:00'"


@pytest.fixture
def board(db_url: str) -> Iterator[SQLJobBoard]:
    with backends.backend("test", {"url": db_url, "lease": 30, "poll_interval": 0.2}) as b:
        yield b


def _other(url: str, **conf: float) -> SQLJobBoard:
    other = backends.fetch("other", {"url": url, **conf})
    other.connect()
    return other


def test_post_claim_consume_and_the_events_they_leave(board: SQLJobBoard) -> None:
    job = board.post("j", details={"flow_uuid": "f-1", "x": [1, 2]})
    assert (job.state, board.job_count, board.find_owner(job)) == (states.UNCLAIMED, 1, None)
    assert job.details == {"flow_uuid": "f-1", "x": [1, 2]} and job.flow_uuid == "f-1"
    board.claim(job, "w1")
    assert (job.state, board.find_owner(job), job.claims) == (states.CLAIMED, "w1", 1)
    assert [j.uuid for j in board.iterjobs(only_unclaimed=True)] == []
    board.consume(job, "w1")
    assert job.state == states.COMPLETE and job.wait(0.01)
    assert board.job_count == 0 and list(board.iterjobs()) == []
    with pytest.raises(NotFound):
        board.consume(job, "w1")
    assert [(e["kind"], e["who"], e["claims"]) for e in board.events(job)] == [
        ("posted", None, 0),
        ("claimed", "w1", 1),
        ("consumed", "w1", 1),
    ]


def test_a_live_claim_cannot_be_taken_an_expired_one_can(board: SQLJobBoard, db_url: str) -> None:
    job = board.post("j")
    board.claim(job, "w1")
    other = _other(db_url)
    try:
        with pytest.raises(UnclaimableJob, match="already claimed by 'w1'"):
            other.claim(job, "w2")
        assert board.extend(job, "w1")
        execute(db_url, EXPIRE_ALL)
        assert [j.uuid for j in other.iterjobs(only_unclaimed=True)] == [job.uuid]
        other.claim(job, "w2")
        assert board.find_owner(job) == "w2"
        # The old owner is fenced off: it can neither renew nor finish the job.
        assert not board.extend(job, "w1")
        with pytest.raises(JobFailure, match="claimed by 'w2'"):
            board.consume(job, "w1")
        assert [e["kind"] for e in board.events(job)][-2:] == ["lost", "claimed"]
        assert board.events(job)[-2]["who"] == "w1"
        other.abandon(job, "w2")
        assert job.state == states.UNCLAIMED
        with pytest.raises(NotFound, match="no owner"):
            other.abandon(job, "w2")
    finally:
        other.close()


def test_same_owner_name_with_an_older_claim_count_is_fenced(db_url: str) -> None:
    first = _other(db_url, lease=30)
    second = _other(db_url, lease=30)
    try:
        job = first.post("j")
        first.claim(job, "same")
        execute(db_url, EXPIRE_ALL)
        second.claim(job, "same")  # a restarted process reusing a name
        assert first.token(job) == 1 and second.token(job) == 2
        assert not first.extend(job, "same") and second.extend(job, "same")
    finally:
        first.close()
        second.close()


def test_priorities_then_age_decide_the_order(board: SQLJobBoard) -> None:
    low = board.post("low", priority=JobPriority.LOW)
    normal = board.post("normal")
    urgent = board.post("urgent", priority="very_high")
    assert [j.name for j in board.iterjobs()] == ["urgent", "normal", "low"]
    assert urgent.priority is JobPriority.VERY_HIGH and low.priority is JobPriority.LOW
    claimed = board.claim_next("w")
    assert claimed is not None and claimed.uuid == urgent.uuid
    claimed = board.claim_next("w")
    assert claimed is not None and claimed.uuid == normal.uuid
    with pytest.raises(InvalidArgument, match="not a valid priority"):
        board.post("bad", priority="urgent")
    assert JobPriority.reorder(("LOW", "a"), ("HIGH", "b"), ("LOW", "c")) == ("b", "a", "c")


def test_concurrent_claim_next_takes_each_job_once(board: SQLJobBoard, db_url: str) -> None:
    posted = {board.post("j%d" % i).uuid for i in range(40)}
    taken: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claimer(who: str) -> None:
        mine = _other(db_url)
        try:
            while (job := mine.claim_next(who)) is not None:
                with lock:
                    taken.setdefault(job.uuid, []).append(who)
        finally:
            mine.close()

    threads = [threading.Thread(target=claimer, args=("w%d" % i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(taken) == posted
    assert all(len(owners) == 1 for owners in taken.values())


def test_wait_wakes_on_a_post_well_before_the_poll_interval(db_url: str) -> None:
    waiting = _other(db_url, poll_interval=5.0)
    poster = _other(db_url)
    try:
        with pytest.raises(NotFound, match=r"within 0\.2 seconds"):
            waiting.wait(timeout=0.2)
        woke: list[float] = []

        def waiter() -> None:
            started = time.monotonic()
            found = list(waiting.wait(timeout=10))
            woke.append(time.monotonic() - started)
            assert [j.name for j in found] == ["late"]

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.3)
        poster.post("late")
        thread.join()
        # LISTEN/NOTIFY (PostgreSQL) or data_version (SQLite) woke it, not the 5 s poll.
        assert 0.25 < woke[0] < 2.0
    finally:
        waiting.close()
        poster.close()


def test_job_wait_returns_once_consumed(board: SQLJobBoard, db_url: str) -> None:
    job = board.post("j")
    assert not job.wait(0.05)
    board.claim(job, "w")
    timer = threading.Timer(0.1, board.consume, (job, "w"))
    timer.start()
    assert job.wait(5)
    timer.join()


def test_trash_and_the_stored_state(board: SQLJobBoard) -> None:
    job = board.post("j")
    with pytest.raises(NotFound, match="no owner"):
        board.trash(job, "w")
    board.claim(job, "w")
    board.trash(job, "w")
    assert job.state == states.COMPLETE and job.stored_state == "TRASHED"
    assert [j.uuid for j in board.jobs("TRASHED")] == [job.uuid]
    with pytest.raises(UnclaimableJob, match="TRASHED"):
        board.claim(job, "w")


def test_a_fenced_backend_commits_only_while_the_claim_holds(
    board: SQLJobBoard, db_url: str
) -> None:
    book = LogBook("b")
    flow = FlowDetail("f", state="RUNNING")
    backend = connect(db_url)
    other = _other(db_url)
    try:
        backend.write([SaveLogbook(book.uuid, book.name, {}, later())])
        backend.write([SaveFlow(flow.uuid, book.uuid, flow.name, "RUNNING", {}, later())])
        job = board.post("j", details={"flow_uuid": flow.uuid})
        board.claim(job, "w1", expiry=5)
        before = board.row_of(job.uuid)
        backend.set_fence(board.fence(job, "w1"))
        backend.write([UpdateFlow(flow.uuid, later(), state="SUSPENDED")])
        row = board.row_of(job.uuid)
        assert row is not None and before is not None
        assert row["lease_expires_at"] > before["lease_expires_at"]  # each write renews it
        execute(db_url, EXPIRE_ALL)
        other.claim(job, "w2")
        with pytest.raises(WriteFailed, match=r"ClaimLost.*write refused"):
            backend.write([UpdateFlow(flow.uuid, later(), state="SUCCESS")])
        backend.set_fence(None)
        assert backend.load_flow(flow.uuid).state == "SUSPENDED"
    finally:
        backend.close()
        other.close()


def test_bad_configuration_and_arguments_are_one_line_errors(
    db_url: str, sqlite_empty_url: str, board: SQLJobBoard
) -> None:
    with pytest.raises(InvalidArgument, match="needs conf\\['url'\\]"):
        backends.fetch("x", {})
    with pytest.raises(InvalidArgument, match="lease must be more than 0"):
        backends.fetch("x", {"url": db_url, "lease": 0})
    with pytest.raises(InvalidArgument, match="number of seconds"):
        backends.fetch("x", {"url": db_url, "poll_interval": "soon"})
    with pytest.raises(NotFound, match="unknown job board 'zookeeper'"):
        backends.fetch("x", {"url": db_url, "board": "zookeeper"})
    with pytest.raises(SchemaMismatch, match="recorder db upgrade"):
        backends.fetch("x", sqlite_empty_url.replace("empty.db", "none.db") + "x").connect()
    job = board.post("j")
    with pytest.raises(InvalidType, match="string"):
        board.claim(job, 7)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="non-empty"):
        board.claim(job, "")
    closed = backends.fetch("x", db_url)
    with pytest.raises(JobFailure, match="not connected"):
        closed.job_count  # noqa: B018
    with pytest.raises(NotFound, match="no job"):
        board.find("ffffffff")
