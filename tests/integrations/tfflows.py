"""Flows written for OpenStack TaskFlow itself (``import taskflow``), for the bridge tests.

Child side of the crash test: ``python -m tests.integrations.tfflows start TF_URL REC_URL``
runs a linear TaskFlow flow on TaskFlow's own SQL backend at TF_URL, recorded
durably at REC_URL; step ``s1`` creates ``$CRASH_MARK`` and sleeps until it is
killed. ``resume TF_URL REC_URL FLOW_UUID`` loads the flow detail from TaskFlow's
backend and runs it again under the bridge, printing its results as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

from taskflow import engines, retry, task
from taskflow.patterns import graph_flow, linear_flow
from taskflow.persistence import backends
from taskflow.utils import persistence_utils

from recorder.integrations.taskflow import record

CRASH_FLOW = "tf-crashy"


class Echo(task.Task):  # type: ignore[misc]
    def execute(self, **inputs: Any) -> str:
        return "%s(%s)" % (self.name, ",".join(str(inputs[k]) for k in sorted(inputs)))


class Undoable(Echo):
    reverted: list[str] = []

    def revert(self, **kwargs: Any) -> None:
        Undoable.reverted.append(self.name)


class Boom(task.Task):  # type: ignore[misc]
    def execute(self) -> None:
        raise ValueError("boom in %s" % self.name)


class FailsTwice(task.Task):  # type: ignore[misc]
    """Fails its first two executions, succeeds on the third."""

    def __init__(self, name: str) -> None:
        super().__init__(name, provides=name + "_out")
        self.calls = 0

    def execute(self) -> int:
        self.calls += 1
        if self.calls <= 2:
            raise RuntimeError("attempt %d failed" % self.calls)
        return self.calls


def linear(name: str = "tf-linear") -> Any:
    return linear_flow.Flow(name).add(
        Echo("a", provides="a_out"),
        Echo("b", provides="b_out", requires=["a_out"]),
        Echo("c", provides="c_out", requires=["b_out"]),
    )


def diamond(name: str = "tf-diamond") -> Any:
    """start -> (left, right) -> join: left and right may run at the same time."""
    return graph_flow.Flow(name).add(
        Echo("start", provides="s"),
        Echo("left", provides="l", requires=["s"]),
        Echo("right", provides="r", requires=["s"]),
        Echo("join", provides="j", requires=["l", "r"]),
    )


def retried(name: str = "tf-retried") -> Any:
    return linear_flow.Flow(name, retry=retry.Times(3, name="again")).add(
        Undoable("prepare", provides="p"), FailsTwice("flaky")
    )


def reverted(name: str = "tf-reverted") -> Any:
    return linear_flow.Flow(name).add(Undoable("first", provides="f"), Boom("boom"))


# -- the crash child ----------------------------------------------------------


class Sleepy(Echo):
    def execute(self, **inputs: Any) -> str:
        mark = os.environ.get("CRASH_MARK", "")
        if self.name == "s1" and mark and not os.path.exists(mark):
            with open(mark, "w"):
                pass
            time.sleep(120)  # killed here
        return super().execute(**inputs)


def crash_flow() -> Any:
    return linear_flow.Flow(CRASH_FLOW).add(
        Sleepy("s0", provides="o0"),
        Sleepy("s1", provides="o1", requires=["o0"]),
        Sleepy("s2", provides="o2", requires=["o1"]),
    )


def tf_backend(url: str) -> Any:
    backend = backends.fetch({"connection": url})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    return backend


def start(tf_url: str, rec_url: str) -> None:
    backend = tf_backend(tf_url)
    flow = crash_flow()
    book = persistence_utils.temporary_log_book(backend)
    detail = persistence_utils.create_flow_detail(flow, book, backend)
    print(detail.uuid, flush=True)
    engine = engines.load(flow, flow_detail=detail, book=book, backend=backend)
    with record(engine, backend=rec_url, mode="durable"):
        engine.run()


def resume(tf_url: str, rec_url: str, flow_uuid: str) -> None:
    backend = tf_backend(tf_url)
    with contextlib.closing(backend.get_connection()) as conn:
        detail = conn.get_flow_details(flow_uuid)
    engine = engines.load(crash_flow(), flow_detail=detail, backend=backend)
    with record(engine, backend=rec_url, mode="durable") as bridge:
        engine.run()
    bridge.check()
    print(json.dumps(engine.storage.fetch_all(), sort_keys=True), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "start":
        start(sys.argv[2], sys.argv[3])
    else:
        resume(sys.argv[2], sys.argv[3], sys.argv[4])
