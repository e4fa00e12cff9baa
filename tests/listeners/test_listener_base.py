"""Listener base: what gets registered where, rollback, and the context manager."""

from __future__ import annotations

from typing import Any

import pytest

from recorder import engines, retry, states
from recorder.engines import ActionEngine
from recorder.listeners import base
from recorder.notifier import ANY
from recorder.patterns import linear_flow
from tests.support.sample_tasks import Const


def make_engine() -> ActionEngine:
    flow = linear_flow.Flow("f", retry=retry.Times(2, "r")).add(Const(1, name="t"))
    return engines.load(flow)


class Recording(base.Listener):
    def __init__(self, engine: ActionEngine, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.seen: list[tuple[str, str, str]] = []

    def _flow_receiver(self, state: str, details: dict[str, Any]) -> None:
        self.seen.append(("flow", details["flow_name"], state))

    def _task_receiver(self, state: str, details: dict[str, Any]) -> None:
        self.seen.append(("task", details["task_name"], state))

    def _retry_receiver(self, state: str, details: dict[str, Any]) -> None:
        self.seen.append(("retry", details["retry_name"], state))


def test_constants_match_taskflow() -> None:
    assert base.FINISH_STATES == ("FAILURE", "SUCCESS", "REVERTED", "REVERT_FAILURE")
    assert base.DEFAULT_LISTEN_FOR == ("*",)


def test_default_listens_to_everything_and_tells_tasks_from_retries() -> None:
    engine = make_engine()
    with Recording(engine) as listener:
        engine.run()
    assert listener.seen == [
        ("flow", "f", "RUNNING"),
        ("retry", "r", "RUNNING"),
        ("retry", "r", "SUCCESS"),
        ("task", "t", "RUNNING"),
        ("task", "t", "SUCCESS"),
        ("flow", "f", "SUCCESS"),
    ]


def test_one_registration_per_state_on_the_right_notifier() -> None:
    engine = make_engine()
    listener = Recording(
        engine,
        task_listen_for=[states.RUNNING, states.SUCCESS],
        flow_listen_for=[states.SUCCESS],
        retry_listen_for=[],
    )
    listener.register()
    assert len(engine.atom_notifier) == 2
    assert len(engine.notifier) == 1
    assert engine.atom_notifier.is_registered(
        states.RUNNING, listener._task_receiver, details_filter=base._task_matcher
    )
    engine.run()
    listener.deregister()
    assert listener.seen == [
        ("task", "t", "RUNNING"),
        ("task", "t", "SUCCESS"),
        ("flow", "f", "SUCCESS"),
    ]
    assert len(engine.atom_notifier) == 0 and len(engine.notifier) == 0


def test_none_or_empty_listens_for_nothing_of_that_kind() -> None:
    engine = make_engine()
    with Recording(engine, task_listen_for=None, flow_listen_for=(), retry_listen_for=[]) as lst:
        assert len(engine.atom_notifier) == 0 and len(engine.notifier) == 0
        engine.run()
    assert lst.seen == []


def test_register_twice_is_idempotent_and_deregister_without_register_is_a_noop() -> None:
    engine = make_engine()
    listener = Recording(engine)
    listener.deregister()
    listener.register()
    listener.register()
    assert len(engine.atom_notifier) == 2 and len(engine.notifier) == 1
    listener.deregister()
    listener.deregister()
    assert len(engine.atom_notifier) == 0 and len(engine.notifier) == 0


def test_partial_registration_is_rolled_back() -> None:
    engine = make_engine()
    # A flow receiver that is not callable makes the last registration fail,
    # after the task and retry ones already succeeded.
    listener = Recording(engine, flow_listen_for=[states.RUNNING, states.SUCCESS])
    listener._flow_receiver = "not callable"  # type: ignore[assignment,method-assign]
    with pytest.raises(ValueError):
        listener.register()
    assert len(engine.atom_notifier) == 0
    assert len(engine.notifier) == 0
    assert listener._registered == {}


def test_rollback_keeps_other_listeners_registrations() -> None:
    engine = make_engine()
    other = Recording(engine)
    other.register()
    broken = Recording(engine, flow_listen_for=[states.RUNNING])
    broken._flow_receiver = 42  # type: ignore[assignment,method-assign]
    with pytest.raises(ValueError):
        broken.register()
    assert len(engine.atom_notifier) == 2 and len(engine.notifier) == 1
    engine.run()
    assert ("flow", "f", "SUCCESS") in other.seen


def test_context_manager_deregisters_when_the_block_raises() -> None:
    engine = make_engine()
    with pytest.raises(KeyError), Recording(engine):
        assert len(engine.atom_notifier) == 2
        raise KeyError("inside")
    assert len(engine.atom_notifier) == 0 and len(engine.notifier) == 0


def test_two_listeners_of_one_class_both_hear() -> None:
    engine = make_engine()
    with Recording(engine) as a, Recording(engine) as b:
        engine.run()
    assert a.seen == b.seen and len(a.seen) == 6


def test_a_raising_listener_is_counted_and_does_not_stop_the_flow() -> None:
    engine = make_engine()

    class Raising(base.Listener):
        def _task_receiver(self, state: str, details: dict[str, Any]) -> None:
            raise RuntimeError("listener bug")

    with Raising(engine), Recording(engine) as good:
        engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert engine.atom_notifier.failure_count == 2  # t RUNNING and t SUCCESS
    failure = engine.atom_notifier.listener_failures[-1]
    assert failure.event_type == states.SUCCESS
    assert failure.failure.check(RuntimeError)
    assert ("task", "t", "SUCCESS") in good.seen


def test_dumping_listener_is_abstract() -> None:
    with pytest.raises(TypeError):
        base.DumpingListener(make_engine())  # type: ignore[abstract]


def test_default_registers_once_on_any_per_kind() -> None:
    engine = make_engine()
    listener = Recording(engine, retry_listen_for=())
    with listener:
        events = [(event, len(regs)) for event, regs in engine.atom_notifier.listeners_iter()]
        assert events == [(ANY, 1)]
        assert engine.atom_notifier.is_registered(
            ANY, listener._task_receiver, details_filter=base._task_matcher
        )
        assert not engine.atom_notifier.is_registered(ANY, listener._task_receiver)
