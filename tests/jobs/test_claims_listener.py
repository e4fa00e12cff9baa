"""CheckingClaimListener on the SQL board: TaskFlow's behaviour, one lease-renewing
statement per check, a heartbeat through long tasks, and fenced writes: an
engine whose claim was lost cannot commit state for its flow any more."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from recorder import engines, states, task
from recorder.audit.verify import verify_flow
from recorder.exceptions import InvalidArgument, UnclaimableJob, WriteFailed
from recorder.jobs import backends
from recorder.jobs.backends.impl_sql import SQLJobBoard
from recorder.listeners.claims import CheckingClaimListener
from recorder.patterns import linear_flow
from recorder.persistence import connect
from tests.support.faults import execute
from tests.support.sample_tasks import Const

EXPIRE_ALL = "UPDATE jobs SET lease_expires_at = '2000-01-01 00:00:00.000000+00:00'"


@pytest.fixture
def board(db_url: str) -> Iterator[SQLJobBoard]:
    with backends.backend("test", {"url": db_url, "lease": 30}) as b:
        yield b


def _flow(count: int) -> linear_flow.Flow:
    return linear_flow.Flow("root").add(*(Const(i, name="t%d" % i) for i in range(count)))


def test_a_non_callable_handler_is_refused(board: SQLJobBoard) -> None:
    job = board.post("j")
    with pytest.raises(InvalidArgument, match="must be callable"):
        CheckingClaimListener(engines.load(_flow(1)), job, board, "w", on_job_loss=1)  # type: ignore[arg-type]


def test_each_state_change_is_one_check_that_renews_the_lease(board: SQLJobBoard) -> None:
    job = board.post("j")
    board.claim(job, "w", expiry=5)
    engine = engines.load(_flow(3))
    leases = []

    def seen(state: str, details: dict[str, Any]) -> None:
        row = board.row_of(job.uuid)
        assert row is not None
        leases.append(row["lease_expires_at"])

    engine.atom_notifier.register("SUCCESS", seen)
    with CheckingClaimListener(engine, job, board, "w") as listener:
        engine.run()
    # 3 tasks x (RUNNING, SUCCESS) + flow RUNNING, SUCCESS.
    assert listener.checks == 8 and not listener.lost
    assert leases == sorted(leases) and len(set(leases)) == 3
    assert board.find_owner(job) == "w"


def test_lost_claim_suspends_the_engine_once(board: SQLJobBoard, db_url: str) -> None:
    job = board.post("j")
    board.claim(job, "w")
    engine = engines.load(_flow(10))
    suspends = []
    real = engine.suspend

    def counting() -> None:
        suspends.append(1)
        real()

    engine.suspend = counting  # type: ignore[method-assign]
    ran: list[str] = []
    with CheckingClaimListener(engine, job, board, "w") as listener:
        for state in engine.run_iter():
            ran.append(state)
            if state == states.SCHEDULING and len(ran) < 3:
                execute(db_url, "UPDATE jobs SET owner = 'someone-else'")
    assert engine.storage.get_flow_state() == states.SUSPENDED and listener.lost
    assert ran.count(states.SCHEDULING) == 1 and len(suspends) == 1


def test_custom_handler_gets_every_check_after_the_loss(board: SQLJobBoard, db_url: str) -> None:
    job = board.post("j")
    board.claim(job, "w")
    calls: list[tuple[Any, Any]] = []
    engine = engines.load(_flow(4))
    with CheckingClaimListener(
        engine, job, board, "w", on_job_loss=lambda e, s, d: calls.append((e, s))
    ):
        execute(db_url, "UPDATE jobs SET state = 'UNCLAIMED', owner = NULL")
        engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert len(calls) == 10 and all(e is engine for e, _ in calls)


class Slow(task.Task):
    def execute(self, pause: float) -> str:
        time.sleep(pause)
        return "slow"


def test_the_heartbeat_keeps_a_long_task_s_claim(board: SQLJobBoard, db_url: str) -> None:
    lease = 0.6
    with backends.backend("hb", {"url": db_url, "lease": lease}) as short:
        job = short.post("j")
        short.claim(job, "w")
        engine = engines.load(Slow(), store={"pause": lease * 3})
        with CheckingClaimListener(engine, job, short, "w") as listener:
            engine.run()
        assert not listener.lost
        # Renewed in between: the claim is still live, another worker cannot take it.
        with pytest.raises(UnclaimableJob):
            board.claim(job, "thief")
        assert [e["kind"] for e in short.events(job)].count("extended") >= 3


def test_a_lost_claim_cannot_commit_state_for_the_flow(board: SQLJobBoard, db_url: str) -> None:
    """Fenced writes: after a takeover, nothing the old engine does is stored."""
    backend = connect(db_url)
    job = board.post("j")
    board.claim(job, "old")
    backend.set_fence(board.fence(job, "old"))

    class TakenOver(task.Task):
        def execute(self) -> str:
            execute(db_url, EXPIRE_ALL)
            with backends.backend("new", db_url) as other:
                other.claim(job, "new")
            return "too late"

    flow = linear_flow.Flow("fenced").add(Const(1, name="first"), TakenOver(name="second"))
    engine = engines.load(flow, backend=backend)
    flow_uuid = engine.storage.flow_uuid
    with (
        CheckingClaimListener(engine, job, board, "old"),
        pytest.raises(WriteFailed, match="ClaimLost"),
    ):
        engine.run()
    backend.set_fence(None)
    stored = backend.load_flow(flow_uuid)
    assert stored.atoms["first"].state == states.SUCCESS
    assert stored.atoms["second"].state == states.RUNNING  # its SUCCESS was refused
    assert stored.atoms["second"].results is None
    assert verify_flow(backend, flow_uuid).ok
    assert board.find_owner(job) == "new"
    backend.close()
