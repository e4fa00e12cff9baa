"""Parallel engine, suspension, and continuing a stored run (memory backend)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from recorder import engines, task
from recorder.exceptions import WrappedFailure
from recorder.patterns import graph_flow, linear_flow, unordered_flow
from recorder.persistence.memory import MemoryBackend


class Meet(task.Task):
    """Only finishes if its partner runs at the same time."""

    def __init__(self, barrier: threading.Barrier, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.barrier = barrier

    def execute(self) -> str:
        self.barrier.wait()  # BrokenBarrierError after the timeout if run alone
        return self.name


def test_parallel_engine_really_overlaps_atoms() -> None:
    barrier = threading.Barrier(3, timeout=10)
    flow = unordered_flow.Flow("f").add(*(Meet(barrier, name="m%d" % i) for i in range(3)))
    engine = engines.load(flow, engine="parallel", max_workers=3)
    engine.run()
    assert engine.storage.get_flow_state() == "SUCCESS"


def test_serial_engine_does_not_overlap() -> None:
    barrier = threading.Barrier(2, timeout=0.5)
    flow = unordered_flow.Flow("f").add(Meet(barrier, name="a"), Meet(barrier, name="b"))
    # Both run (one after the other, as TaskFlow's serial engine runs every ready
    # atom before recording their ends), and both time out waiting for the other.
    with pytest.raises(WrappedFailure) as err:
        engines.run(flow)
    assert [f.check(threading.BrokenBarrierError) for f in err.value] == [
        threading.BrokenBarrierError
    ] * 2


def test_parallel_notifications_come_from_the_engine_thread_in_order(capture: Any) -> None:
    threads: set[int] = set()

    class Work(task.Task):
        def execute(self, **kwargs: Any) -> int:
            return 1

    flow = graph_flow.Flow("g")
    atoms = [Work("w%d" % i, provides="v%d" % i) for i in range(20)]
    flow.add(*atoms)
    engine = engines.load(flow, engine="parallel", max_workers=4)
    events = capture(engine)
    engine.atom_notifier.register("*", lambda s, details: threads.add(threading.get_ident()))
    engine.run()
    assert threads == {threading.get_ident()}
    for atom in atoms:
        mine = [s for n, s in events if n == atom.name]
        assert mine == ["RUNNING", "SUCCESS"]


def test_parallel_failure_reverts_what_ran() -> None:
    reverted: list[str] = []

    class Undo(task.Task):
        def execute(self) -> None:
            return None

        def revert(self, **kwargs: Any) -> None:
            reverted.append(self.name)

    class Boom(task.Task):
        def execute(self, **kwargs: Any) -> None:
            raise RuntimeError("boom")

    flow = linear_flow.Flow("f").add(
        unordered_flow.Flow("fan").add(Undo("u1"), Undo("u2"), Undo("u3")), Boom("boom")
    )
    engine = engines.load(flow, engine="parallel", max_workers=3)
    with pytest.raises(RuntimeError):
        engine.run()
    assert sorted(reverted) == ["u1", "u2", "u3"]


def test_suspend_then_run_again(capture: Any) -> None:
    holder: dict[str, Any] = {}

    class Suspender(task.Task):
        def execute(self) -> None:
            holder["engine"].suspend()

    class Ok(task.Task):
        def execute(self) -> None:
            return None

    flow = linear_flow.Flow("f").add(Suspender("s"), Ok("after"))
    engine = engines.load(flow)
    holder["engine"] = engine
    events = capture(engine)
    engine.run()
    assert events[-2:] == [("flow", "SUSPENDING"), ("flow", "SUSPENDED")]
    assert engine.storage.get_atom_state("after") == "PENDING"
    holder["engine"] = engines.load(linear_flow.Flow("dummy"))  # don't suspend again
    engine.run()
    assert events[-4:] == [
        ("flow", "RUNNING"),
        ("after", "RUNNING"),
        ("after", "SUCCESS"),
        ("flow", "SUCCESS"),
    ]


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so the engine does not handle it."""


RUNS: dict[str, int] = {}


class Counted(task.Task):
    crash_once = False

    def execute(self, **kwargs: Any) -> str:
        RUNS[self.name] = RUNS.get(self.name, 0) + 1
        if self.crash_once and RUNS[self.name] == 1:
            raise Crash()
        return "%s:%d" % (self.name, RUNS[self.name])


class CrashOnce(Counted):
    crash_once = True


def make_flow() -> linear_flow.Flow:
    return linear_flow.Flow("resumable").add(
        Counted("a", provides="a_out"),
        CrashOnce("b", provides="b_out", requires=["a_out"]),
        Counted("c", provides="c_out", requires=["b_out", "seed"]),
    )


def test_resume_from_stored_detail_after_a_crash(capture: Any) -> None:
    RUNS.clear()
    backend = MemoryBackend()
    engine = engines.load_from_factory(make_flow, store={"seed": 1}, backend=backend)
    flow_uuid = engine.storage.flow_uuid
    with pytest.raises(Crash):
        engine.run()
    stored = backend.load_flow(flow_uuid)
    assert stored.state == "RUNNING"
    assert stored.atoms["a"].state == "SUCCESS" and stored.atoms["b"].state == "RUNNING"

    resumed = engines.load_from_detail(stored, backend=backend)
    events = capture(resumed)
    resumed.run()
    assert RUNS == {"a": 1, "b": 2, "c": 1}
    assert resumed.storage.fetch_all() == {
        "a_out": "a:1",
        "b_out": "b:2",
        "c_out": "c:1",
        "seed": 1,
    }
    # The flow was RUNNING when it crashed: listeners hear it finish, as on TaskFlow's
    # engine (the crash markers RESUMING/SUSPENDED go to the trail only).
    assert [e for e in events if e[0] == "flow"] == [("flow", "SUCCESS")]
    final = backend.load_flow(flow_uuid)
    assert final.state == "SUCCESS" and final.atoms["b"].attempt == 2
    assert final.meta["store"] == {"seed": 1}
