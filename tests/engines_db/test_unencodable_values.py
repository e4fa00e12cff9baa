"""Values JSON cannot hold never break a flow: results, retry results, revert
results, store, failures and meta that cannot be encoded (an int past Python's
4300-digit limit, a lock, a generator) are stored tagged, the flow ends in its
real state, and the tasks still get the live objects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from recorder import engines, retry, task
from recorder.failure import Failure
from recorder.patterns import linear_flow
from recorder.persistence import connect
from recorder.persistence.encoding import StoredRepr
from recorder.persistence.memory import MemoryBackend
from recorder.persistence.models import FlowDetail
from tests.support.sample_tasks import Const, FailsTimes

HUGE = 10**5000  # str(HUGE) raises ValueError: Exceeds the limit (4300 digits)
MODES = ["durable", "batched"]


def _gen() -> Iterator[int]:
    yield 1


def _load(url: str, uuid: str) -> FlowDetail:
    reader = connect(url)
    try:
        return reader.load_flow(uuid)
    finally:
        reader.close()


def _run(url: str, mode: str, flow: Any, store: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """Run ``flow``; return (what run() raised or None, the flow loaded back)."""
    backend = connect(url, mode=mode, flush_interval=0.005)
    raised: Any = None
    try:
        engine = engines.load(flow, store=store, backend=backend)
        try:
            engine.run()
        except Exception as exc:
            raised = exc
        uuid = engine.storage.flow_uuid
    finally:
        backend.close()
    return raised, _load(url, uuid)


def _is_repr_of(value: Any, type_name: str) -> bool:
    return isinstance(value, StoredRepr) and value.type == type_name


@pytest.mark.parametrize("mode", MODES)
def test_unencodable_results_are_stored_tagged(db_url: str, mode: str) -> None:
    lock = threading.Lock()
    flow = linear_flow.Flow("results").add(
        Const(HUGE, name="huge", provides="h"),
        Const({"k": [HUGE, -HUGE]}, name="nested"),
        Const({HUGE: "as a key"}, name="keyed"),
        Const(lock, name="lock"),
        Const(_gen(), name="gen"),
    )
    raised, stored = _run(db_url, mode, flow)
    assert raised is None and stored.state == "SUCCESS"
    atoms = stored.atoms
    assert atoms["huge"].results == HUGE and atoms["huge"].state == "SUCCESS"
    assert atoms["nested"].results == {"k": [HUGE, -HUGE]}
    assert atoms["keyed"].results == {HUGE: "as a key"}
    assert _is_repr_of(atoms["lock"].results, "_thread.lock")
    assert _is_repr_of(atoms["gen"].results, "generator")


class HugeTimes(retry.Times):
    """Provides values JSON cannot hold: they land in the stored retry history."""

    def execute(self, history: Any, *args: Any, **kwargs: Any) -> Any:
        return [HUGE, threading.Lock(), len(history) + 1]


@pytest.mark.parametrize("mode", MODES)
def test_unencodable_retry_results_are_stored_tagged(db_url: str, mode: str) -> None:
    flow = linear_flow.Flow("retried", retry=HugeTimes(3, name="r")).add(FailsTimes(1, name="t"))
    raised, stored = _run(db_url, mode, flow)
    assert raised is None and stored.state == "SUCCESS"
    history = stored.atoms["r"].results
    assert [entry[0][0] for entry in history] == [HUGE, HUGE]
    assert all(_is_repr_of(entry[0][1], "_thread.lock") for entry in history)
    assert isinstance(history[0][1]["t"], Failure)


class RevertsOddly(task.Task):
    def execute(self) -> None:
        return None

    def revert(self, **kwargs: Any) -> Any:
        return [HUGE, threading.Lock()]


class Raises(task.Task):
    def __init__(self, exc: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exc = exc

    def execute(self) -> None:
        raise self.exc


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "exc",
    [RuntimeError(HUGE), RuntimeError(threading.Lock(), _gen()), KeyError({HUGE: 1})],
    ids=["str-fails", "lock-and-generator-args", "huge-key-arg"],
)
def test_failures_with_unencodable_args_are_stored(
    db_url: str, mode: str, exc: BaseException
) -> None:
    flow = linear_flow.Flow("fails").add(RevertsOddly(name="first"), Raises(exc, name="boom"))
    raised, stored = _run(db_url, mode, flow)
    assert raised is exc  # run() re-raises the task's own exception
    assert stored.state == "REVERTED"
    failure = stored.atoms["boom"].failure
    assert isinstance(failure, Failure) and failure.check(type(exc))
    assert failure.exception_str and "\n" not in failure.exception_str
    assert len(failure.exception_args) == len(exc.args)
    reverted = stored.atoms["first"].revert_results
    assert reverted[0] == HUGE and _is_repr_of(reverted[1], "_thread.lock")


class UsesStore(task.Task):
    def execute(self, lock: Any, gen: Any, huge: int) -> list[Any]:
        with lock:  # the live objects, not copies or reprs
            return [next(gen), huge == HUGE]


@pytest.mark.parametrize("mode", MODES)
def test_unencodable_store_values_are_stored_tagged(db_url: str, mode: str) -> None:
    store = {"lock": threading.Lock(), "gen": _gen(), "huge": HUGE}
    flow = linear_flow.Flow("stored").add(UsesStore(name="use"))
    raised, stored = _run(db_url, mode, flow, store=store)
    assert raised is None and stored.state == "SUCCESS"
    assert stored.atoms["use"].results == [1, True]
    saved = stored.meta["store"]
    assert _is_repr_of(saved["lock"], "_thread.lock")
    assert _is_repr_of(saved["gen"], "generator")
    assert saved["huge"] == HUGE


@pytest.mark.parametrize("mode", MODES)
def test_unencodable_meta_is_stored_tagged(db_url: str, mode: str) -> None:
    backend = connect(db_url, mode=mode, flush_interval=0.005)
    lock = threading.Lock()
    try:
        engine = engines.load(linear_flow.Flow("meta").add(Const(1, name="a")), backend=backend)
        engine.run()
        engine.storage.update_flow_metadata({"lock": lock, "huge": HUGE, "gen": _gen()})
        engine.storage.update_atom_metadata("a", {"lock": lock, "huge": [HUGE]})
        assert engine.storage.flow_meta["lock"] is lock  # cannot be copied: kept as is
        assert engine.storage.get_atom_meta("a")["huge"] == [HUGE]
        uuid = engine.storage.flow_uuid
    finally:
        backend.close()
    stored = _load(db_url, uuid)
    assert _is_repr_of(stored.meta["lock"], "_thread.lock")
    assert _is_repr_of(stored.meta["gen"], "generator")
    assert stored.meta["huge"] == HUGE
    assert _is_repr_of(stored.atoms["a"].meta["lock"], "_thread.lock")
    assert stored.atoms["a"].meta["huge"] == [HUGE]


def test_memory_backend_keeps_what_it_cannot_copy() -> None:
    backend = MemoryBackend()
    lock = threading.Lock()
    flow = linear_flow.Flow("memory").add(UsesStore(name="use"), Const(lock, name="lock"))
    engine = engines.load(flow, store={"lock": lock, "gen": _gen(), "huge": HUGE}, backend=backend)
    engine.run()
    engine.storage.update_atom_metadata("use", {"lock": lock})
    stored = backend.load_flow(engine.storage.flow_uuid)
    assert stored.state == "SUCCESS"
    assert stored.meta["store"]["lock"] is lock and stored.atoms["lock"].results is lock
    assert stored.atoms["use"].meta["lock"] is lock
    assert stored.meta["store"]["huge"] == HUGE
