"""Notifier behaviour: registration, filters, reserved keys and delivery, as in TaskFlow."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from recorder.exceptions import (
    DuplicateRegistration,
    InvalidArgument,
    InvalidCallback,
    RecorderError,
    ReservedKey,
)
from recorder.notifier import ANY, Notifier, RestrictedNotifier, register_deregister
from recorder.types import notifier as taskflow_path


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, event_type: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((event_type, args, kwargs))


def test_constants() -> None:
    assert Notifier.ANY == ANY == "*"
    assert Notifier.RESERVED_KEYS == ("details",)
    assert taskflow_path.Notifier is Notifier


def test_callback_gets_event_args_kwargs_and_a_copy_of_details() -> None:
    notifier = Notifier()
    seen: list[Any] = []

    def callback(event_type: str, extra: int, details: dict[str, Any], flag: bool) -> None:
        details["mutated"] = True
        seen.append((event_type, extra, details, flag))

    notifier.register("RUNNING", callback, args=[7], kwargs={"flag": True})
    original = {"a": 1}
    notifier.notify("RUNNING", original)
    assert seen == [("RUNNING", 7, {"a": 1, "mutated": True}, True)]
    assert original == {"a": 1}


def test_any_first_then_own_in_registration_order() -> None:
    notifier = Notifier()
    order: list[str] = []
    notifier.register("E", lambda e, details: order.append("own1"))
    notifier.register(ANY, lambda e, details: order.append("any1"))
    notifier.register("E", lambda e, details: order.append("own2"))
    notifier.register(ANY, lambda e, details: order.append("any2"))
    notifier.notify("E", {})
    assert order == ["any1", "any2", "own1", "own2"]
    order.clear()
    notifier.notify("OTHER", {})
    assert order == ["any1", "any2"]


def test_notifying_any_does_nothing() -> None:
    notifier = Notifier()
    rec = Recorder()
    notifier.register(ANY, rec)
    notifier.notify(ANY, {})
    assert rec.calls == []


def test_details_filter_skips_callbacks() -> None:
    notifier = Notifier()
    rec = Recorder()
    notifier.register("E", rec, details_filter=lambda d: d.get("keep"))
    notifier.notify("E", {"keep": False})
    notifier.notify("E", {"keep": True})
    assert [kw["details"] for _e, _a, kw in rec.calls] == [{"keep": True}]


def test_bad_registrations_are_recorder_errors_and_value_or_key_errors() -> None:
    notifier = Notifier()
    with pytest.raises(InvalidCallback) as err:
        notifier.register("E", "nope")  # type: ignore[arg-type]
    assert isinstance(err.value, ValueError) and isinstance(err.value, RecorderError)
    with pytest.raises(InvalidCallback):
        notifier.register("E", Recorder(), details_filter=3)  # type: ignore[arg-type]
    with pytest.raises(ReservedKey) as key_err:
        notifier.register("E", Recorder(), kwargs={"details": 1})
    assert isinstance(key_err.value, KeyError)
    assert "details" in str(key_err.value)
    assert len(notifier) == 0


def test_duplicates_compare_bound_methods_equal() -> None:
    class Holder:
        def cb(self, event_type: str, details: dict[str, Any]) -> None:
            pass

    holder = Holder()
    notifier = Notifier()
    notifier.register("E", holder.cb)
    with pytest.raises(DuplicateRegistration):
        notifier.register("E", holder.cb)
    # Same callback with a different filter is a different registration.
    notifier.register("E", holder.cb, details_filter=bool)
    assert len(notifier) == 2
    assert notifier.is_registered("E", holder.cb)
    assert notifier.is_registered("E", holder.cb, details_filter=bool)
    assert notifier.deregister("E", holder.cb) is True
    assert notifier.deregister("E", holder.cb) is False
    assert len(notifier) == 1


def test_deregister_event_reset_listeners_iter_and_copy() -> None:
    notifier = Notifier()
    a, b, c = Recorder(), Recorder(), Recorder()
    notifier.register("E", a)
    notifier.register("E", b)
    notifier.register("F", c)
    events = dict(notifier.listeners_iter())
    assert sorted(events) == ["E", "F"] and len(events["E"]) == 2
    clone = notifier.copy()
    assert notifier.deregister_event("E") == 2
    assert notifier.deregister_event("E") == 0
    assert len(notifier) == 1 and len(clone) == 3
    notifier.reset()
    assert len(notifier) == 0
    clone.notify("E", {})
    assert len(a.calls) == 1 and len(b.calls) == 1


def test_raising_callback_is_counted_logged_and_does_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = Notifier()
    rec = Recorder()

    def broken(event_type: str, details: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    notifier.register("E", broken)
    notifier.register("E", rec)
    with caplog.at_level(logging.WARNING, logger="recorder.notifier"):
        notifier.notify("E", {"x": 1})
        notifier.notify("E", {"x": 2})
    assert len(rec.calls) == 2
    assert notifier.failure_count == 2
    failure = notifier.listener_failures[-1]
    assert failure.event_type == "E" and failure.callback is broken
    assert failure.failure.check(RuntimeError) and "listener bug" in failure.failure.exception_str
    assert sum("listener bug" in (r.exc_text or "") for r in caplog.records) == 2


def test_restricted_notifier() -> None:
    notifier = RestrictedNotifier(["progress"])
    notifier.register("progress", Recorder())
    notifier.register(ANY, Recorder())
    with pytest.raises(InvalidArgument):
        notifier.register("other", Recorder())
    assert list(notifier.events_iter()) == ["progress"]
    strict = RestrictedNotifier(["progress"], allow_any=False)
    with pytest.raises(InvalidArgument):
        strict.register(ANY, Recorder())
    assert isinstance(notifier.copy(), RestrictedNotifier) and len(notifier.copy()) == 2


def test_context_managers_register_for_a_block_only() -> None:
    notifier = Notifier()
    rec = Recorder()
    with notifier.registered("E", rec):
        notifier.notify("E", {})
    notifier.notify("E", {})
    assert len(rec.calls) == 1 and len(notifier) == 0
    with pytest.raises(KeyError), register_deregister(notifier, "E", rec):
        assert len(notifier) == 1
        raise KeyError("boom")
    assert len(notifier) == 0


def test_registration_is_thread_safe() -> None:
    notifier = Notifier()
    callbacks = [Recorder() for _ in range(400)]

    def register(chunk: list[Recorder]) -> None:
        for cb in chunk:
            notifier.register("E", cb)

    threads = [threading.Thread(target=register, args=(callbacks[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(notifier) == 400
    notifier.notify("E", {})
    assert all(len(cb.calls) == 1 for cb in callbacks)
