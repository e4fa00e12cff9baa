"""The order in which ready atoms start."""

from __future__ import annotations

from typing import Any

import pytest

from recorder import engines, states, task
from recorder.patterns import unordered_flow


class Noop(task.Task):
    def execute(self) -> None:
        return None


@pytest.mark.parametrize("engine", ["serial", "parallel"])
def test_ready_atoms_start_highest_priority_first(engine: str, capture: Any) -> None:
    flow = unordered_flow.Flow("u")
    for i, priority in enumerate([0, 5, -1, 5, 2]):
        atom = Noop("t%d" % i)
        atom.priority = priority
        flow.add(atom)
    loaded = engines.load(flow, engine=engine, max_workers=1 if engine == "parallel" else None)
    events = capture(loaded)
    loaded.run()
    started = [name for name, state in events if state == states.RUNNING and name != "flow"]
    assert started == ["t1", "t3", "t4", "t0", "t2"]  # stable among equal priorities


def test_without_priorities_ready_atoms_start_in_the_order_added(capture: Any) -> None:
    flow = unordered_flow.Flow("u").add(*(Noop("t%d" % i) for i in (3, 1, 2)))
    engine = engines.load(flow)
    events = capture(engine)
    engine.run()
    assert [n for n, s in events if s == states.RUNNING and n != "flow"] == ["t3", "t1", "t2"]
