"""Routing by details kind: the same callbacks, in the same order, as asking every filter."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.exceptions import InvalidArgument
from recorder.notifier import ANY, Notifier
from recorder.notifier_routes import HasKeys

TASK = HasKeys("task_name", "task_uuid")
RETRY = HasKeys("retry_name", "retry_uuid")
TASK_EVENT = {"task_name": "t", "task_uuid": "u", "old_state": "PENDING"}
RETRY_EVENT = {"retry_name": "r", "retry_uuid": "v"}


def _labelled(heard: list[str], label: str) -> Any:
    def callback(event_type: str, details: dict[str, Any]) -> None:
        heard.append(label)

    return callback


@pytest.fixture
def mixed() -> tuple[Notifier, list[str]]:
    """ANY and RUNNING listeners with task, retry, plain and other filters, interleaved."""
    notifier = Notifier()
    heard: list[str] = []
    notifier.register("RUNNING", _labelled(heard, "running-task"), details_filter=TASK)
    notifier.register(ANY, _labelled(heard, "any-retry"), details_filter=RETRY)
    notifier.register("RUNNING", _labelled(heard, "running-plain"))
    notifier.register(ANY, _labelled(heard, "any-task"), details_filter=TASK)
    notifier.register(
        "RUNNING", _labelled(heard, "running-odd"), details_filter=lambda d: "old_state" in d
    )
    notifier.register("RUNNING", _labelled(heard, "running-retry"), details_filter=RETRY)
    return notifier, heard


def test_task_details_reach_task_and_unfiltered_listeners_in_order(
    mixed: tuple[Notifier, list[str]],
) -> None:
    notifier, heard = mixed
    notifier.notify("RUNNING", TASK_EVENT)
    assert heard == ["any-task", "running-task", "running-plain", "running-odd"]


def test_retry_details_reach_retry_listeners_and_others_filter_themselves(
    mixed: tuple[Notifier, list[str]],
) -> None:
    notifier, heard = mixed
    notifier.notify("RUNNING", RETRY_EVENT)
    assert heard == ["any-retry", "running-plain", "running-retry"]


def test_details_of_both_kinds_and_of_neither(mixed: tuple[Notifier, list[str]]) -> None:
    notifier, heard = mixed
    notifier.notify("RUNNING", {**TASK_EVENT, **RETRY_EVENT})
    assert heard == [
        "any-retry",
        "any-task",
        "running-task",
        "running-plain",
        "running-odd",
        "running-retry",
    ]
    heard.clear()
    notifier.notify("RUNNING", {"task_name": "t"})  # half a task's keys: not a task
    assert heard == ["running-plain"]


def test_routes_follow_registration_changes(mixed: tuple[Notifier, list[str]]) -> None:
    notifier, heard = mixed
    notifier.notify("RUNNING", TASK_EVENT)  # routes built and kept
    heard.clear()
    late = _labelled(heard, "late-task")
    notifier.register("RUNNING", late, details_filter=TASK)
    notifier.notify("RUNNING", TASK_EVENT)
    assert heard == ["any-task", "running-task", "running-plain", "running-odd", "late-task"]
    heard.clear()
    assert notifier.deregister("RUNNING", late, details_filter=TASK)
    notifier.notify("RUNNING", TASK_EVENT)
    assert heard == ["any-task", "running-task", "running-plain", "running-odd"]


def test_equal_has_keys_filters_find_the_same_registration() -> None:
    notifier = Notifier()
    heard: list[str] = []
    callback = _labelled(heard, "x")
    notifier.register("RUNNING", callback, details_filter=HasKeys("task_name", "task_uuid"))
    assert notifier.is_registered("RUNNING", callback, details_filter=TASK)
    assert not notifier.is_registered("RUNNING", callback, details_filter=RETRY)
    assert HasKeys("a", "b") != HasKeys("b", "a")  # keys in order: a different filter
    assert notifier.deregister("RUNNING", callback, details_filter=TASK)
    notifier.notify("RUNNING", TASK_EVENT)
    assert heard == []


def test_has_keys_is_a_plain_filter_too() -> None:
    assert TASK(TASK_EVENT) and not TASK(RETRY_EVENT) and not TASK({})
    assert repr(TASK) == "HasKeys('task_name', 'task_uuid')"
    with pytest.raises(InvalidArgument, match="at least one key"):
        HasKeys()


def test_a_raising_callback_on_a_routed_listener_is_counted_and_others_still_hear() -> None:
    notifier = Notifier()
    heard: list[str] = []

    def broken(event_type: str, details: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    notifier.register("RUNNING", broken, details_filter=TASK)
    notifier.register("RUNNING", _labelled(heard, "after"), details_filter=TASK)
    notifier.notify("RUNNING", TASK_EVENT)
    assert heard == ["after"]
    assert notifier.failure_count == 1
    assert notifier.listener_failures[0].callback is broken


def test_each_routed_listener_gets_its_own_copy() -> None:
    notifier = Notifier()
    seen: list[dict[str, Any]] = []

    def mutate(event_type: str, details: dict[str, Any]) -> None:
        details["task_name"] = "changed"
        seen.append(details)

    notifier.register("RUNNING", mutate, details_filter=TASK)
    notifier.register(ANY, mutate, details_filter=TASK)
    event = dict(TASK_EVENT)
    notifier.notify("RUNNING", event)
    assert event == TASK_EVENT and len(seen) == 2 and seen[0] is not seen[1]
