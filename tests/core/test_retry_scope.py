"""What a retry redoes: its scope and what depends on it; a decision a stop cut off."""

from __future__ import annotations

from typing import Any

from recorder import engines, retry, states, task
from recorder.patterns import graph_flow, linear_flow

RUNS: list[str] = []


class Make(task.Task):
    def execute(self) -> int:
        RUNS.append(self.name)
        return len(RUNS)


class Use(task.Task):
    def execute(self, x: int) -> int:
        RUNS.append(self.name)
        return x


class FailsOnce(task.Task):
    failed = False

    def execute(self) -> None:
        RUNS.append(self.name)
        if not FailsOnce.failed:
            FailsOnce.failed = True
            raise RuntimeError("first run fails")


def test_a_retry_redoes_the_atoms_that_used_its_scope(capture: Any) -> None:
    # 'use' ran on x from the first try of the scope; after the retry it must run
    # again on the new x, so it is reverted and reset with the scope.
    RUNS.clear()
    FailsOnce.failed = False
    flow = graph_flow.Flow("g").add(
        Use("use"),
        linear_flow.Flow("scope", retry=retry.Times(2, "r")).add(
            Make("make", provides="x"), FailsOnce("fails")
        ),
    )
    engine = engines.load(flow)
    engine.compile()
    engine.prepare()
    engine.storage.save("r", 1)
    engine.storage.save("make", 1)
    engine.storage.save("use", 1)  # as if 'use' had run on the first try's x
    events = capture(engine)
    engine.run()
    assert ("use", states.REVERTED) in events and ("use", states.PENDING) in events
    assert RUNS == ["fails", "make", "fails", "use"]
    assert engine.storage.get("use") == engine.storage.fetch("x") == 2


def test_a_retry_that_had_decided_to_retry_retries_when_run_again(capture: Any) -> None:
    # Stopped after its scope was reverted, before the retry moved to RETRYING.
    RUNS.clear()
    flow = linear_flow.Flow("f", retry=retry.Times(3, "r")).add(Make("a"), Make("b"))
    engine = engines.load(flow)
    engine.compile()
    engine.prepare()
    engine.storage.set_atom_intention("r", states.RETRY)
    engine.storage.set_atom_state("r", states.SUCCESS)
    engine.storage.set_atom_state("a", states.REVERTED)
    engine.storage.set_atom_state("b", states.REVERTED)
    events = capture(engine)
    engine.run()
    assert events[:5] == [
        ("flow", states.RUNNING),
        ("r", states.RETRYING),
        ("a", states.PENDING),
        ("b", states.PENDING),
        ("r", states.RUNNING),
    ]
    assert RUNS == ["a", "b"] and engine.storage.get_flow_state() == states.SUCCESS
