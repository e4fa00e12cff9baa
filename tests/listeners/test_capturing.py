"""CaptureListener: (kind, state, details) per event, with skips and kinds switched off."""

from __future__ import annotations

from typing import Any

from recorder import engines, retry
from recorder.engines import ActionEngine
from recorder.listeners.capturing import CaptureListener
from recorder.patterns import linear_flow
from tests.support.sample_tasks import Const


def make_engine() -> ActionEngine:
    flow = linear_flow.Flow("f", retry=retry.Times(1, "r")).add(
        Const(1, name="a"), Const(2, name="b")
    )
    return engines.load(flow)


def short(values: list[Any]) -> list[tuple[str, str]]:
    return [(kind, state) for kind, state, _details in values]


def test_kind_constants() -> None:
    assert (CaptureListener.FLOW, CaptureListener.TASK, CaptureListener.RETRY) == (
        "flow",
        "task",
        "retry",
    )


def test_captures_every_kind_in_order_with_details() -> None:
    engine = make_engine()
    with CaptureListener(engine) as capture:
        engine.run()
    assert short(capture.values) == [
        ("flow", "RUNNING"),
        ("retry", "RUNNING"),
        ("retry", "SUCCESS"),
        ("task", "RUNNING"),
        ("task", "SUCCESS"),
        ("task", "RUNNING"),
        ("task", "SUCCESS"),
        ("flow", "SUCCESS"),
    ]
    _kind, _state, details = capture.values[4]
    assert details["task_name"] == "a" and details["result"] == 1
    assert details["old_state"] == "RUNNING" and isinstance(details["timestamp"], float)
    assert capture.values[2][2]["retry_name"] == "r"


def test_skips_and_switched_off_kinds() -> None:
    engine = make_engine()
    with CaptureListener(engine, skip_tasks=["a"], capture_retry=False, skip_flows=["f"]) as c:
        engine.run()
    assert [(k, s, d["task_name"]) for k, s, d in c.values] == [
        ("task", "RUNNING", "b"),
        ("task", "SUCCESS", "b"),
    ]
    engine = make_engine()
    with CaptureListener(engine, capture_flow=False, capture_task=False, skip_retries=["x"]) as c:
        engine.run()
    assert short(c.values) == [("retry", "RUNNING"), ("retry", "SUCCESS")]


def test_appends_to_a_given_list_and_listen_for() -> None:
    values: list[Any] = ["earlier"]
    engine = make_engine()
    with CaptureListener(
        engine, task_listen_for=["SUCCESS"], flow_listen_for=[], retry_listen_for=[], values=values
    ) as capture:
        engine.run()
    assert capture.values is values
    assert values[0] == "earlier" and short(values[1:]) == [("task", "SUCCESS")] * 2


def test_format_capture_override() -> None:
    class Names(CaptureListener):
        @staticmethod
        def _format_capture(kind: str, state: str, details: dict[str, Any]) -> Any:
            return "%s:%s" % (kind, state)

    engine = make_engine()
    with Names(engine, capture_task=False) as capture:
        engine.run()
    assert capture.values == ["flow:RUNNING", "retry:RUNNING", "retry:SUCCESS", "flow:SUCCESS"]
