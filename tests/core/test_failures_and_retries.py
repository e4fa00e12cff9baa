"""Failure, revert, revert failure and retry semantics, as TaskFlow's engines have them."""

from __future__ import annotations

from typing import Any

import pytest

from recorder import engines, retry, task
from recorder.exceptions import InvalidArgument, NotFound, WrappedFailure
from recorder.failure import Failure
from recorder.patterns import linear_flow, unordered_flow


class Ok(task.Task):
    def execute(self) -> str:
        return "ok"


class Boom(task.Task):
    def execute(self) -> None:
        raise RuntimeError("boom from %s" % self.name)


class Flaky(task.Task):
    """Fails the first ``fails`` times it runs."""

    def __init__(self, fails: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fails = fails
        self.runs = 0

    def execute(self) -> str:
        self.runs += 1
        if self.runs <= self.fails:
            raise RuntimeError("flaky run %d" % self.runs)
        return "fine"


class Remember(task.Task):
    """Records the arguments revert() receives."""

    reverts: list[tuple[str, Any, Any]] = []

    def execute(self) -> str:
        return "done-" + self.name

    def revert(self, result: Any, flow_failures: Any) -> None:
        Remember.reverts.append((self.name, result, sorted(flow_failures)))


def test_spec_retry_example_event_order(capture: Any) -> None:
    flaky = Flaky(2, name="flaky")
    inner = linear_flow.Flow("inner", retry=retry.Times(5, "r1")).add(Ok("ok"), flaky)
    engine = engines.load(linear_flow.Flow("outer").add(inner))
    events = capture(engine, full=True)
    engine.run()
    assert len(events) == 34
    names = [(n, s) for n, s, _d in events]
    one_round = [
        ("r1", "RUNNING"), ("r1", "SUCCESS"),
        ("ok", "RUNNING"), ("ok", "SUCCESS"),
        ("flaky", "RUNNING"), ("flaky", "FAILURE"),
        ("flaky", "REVERTING"), ("flaky", "REVERTED"),
        ("ok", "REVERTING"), ("ok", "REVERTED"),
        ("r1", "RETRYING"), ("ok", "PENDING"), ("flaky", "PENDING"),
    ]  # fmt: skip
    last_round = [
        ("r1", "RUNNING"), ("r1", "SUCCESS"),
        ("ok", "RUNNING"), ("ok", "SUCCESS"),
        ("flaky", "RUNNING"), ("flaky", "SUCCESS"),
    ]  # fmt: skip
    assert names == [("flow", "RUNNING"), *one_round, *one_round, *last_round, ("flow", "SUCCESS")]
    retry_results = [d["result"] for n, s, d in events if n == "r1" and s == "SUCCESS"]
    assert retry_results == [1, 2, 3]
    attempts = [d["attempt"] for n, s, d in events if n == "flaky" and s == "RUNNING"]
    assert attempts == [1, 2, 3]
    history = engine.storage.get_retry_history("r1")
    assert len(history) == 3
    assert [sorted(f) for _r, f in history] == [["flaky"], ["flaky"], []]


def test_failure_reverts_in_reverse_order_and_reraises(capture: Any) -> None:
    Remember.reverts = []
    flow = linear_flow.Flow("f").add(Remember("a"), Remember("b"), Boom("boom"), Ok("never"))
    engine = engines.load(flow)
    events = capture(engine, full=True)
    with pytest.raises(RuntimeError, match="boom from boom"):
        engine.run()
    names = [(n, s) for n, s, _d in events]
    assert names == [
        ("flow", "RUNNING"),
        ("a", "RUNNING"), ("a", "SUCCESS"),
        ("b", "RUNNING"), ("b", "SUCCESS"),
        ("boom", "RUNNING"), ("boom", "FAILURE"),
        ("boom", "REVERTING"), ("boom", "REVERTED"),
        ("b", "REVERTING"), ("b", "REVERTED"),
        ("a", "REVERTING"), ("a", "REVERTED"),
        ("flow", "REVERTED"),
    ]  # fmt: skip
    assert [(n, r, f) for n, r, f in Remember.reverts] == [
        ("b", "done-b", ["boom"]),
        ("a", "done-a", ["boom"]),
    ]
    failure = next(d["result"] for n, s, d in events if n == "boom" and s == "FAILURE")
    assert isinstance(failure, Failure) and failure.check(RuntimeError)
    assert engine.storage.get_atom_state("never") == "PENDING"
    assert engine.storage.get_flow_state() == "REVERTED"


def test_failed_task_revert_gets_its_failure() -> None:
    got: list[Any] = []

    class BoomRemember(Boom):
        def revert(self, result: Any, **kwargs: Any) -> None:
            got.append(result)

    with pytest.raises(RuntimeError):
        engines.run(linear_flow.Flow("f").add(BoomRemember("b")))
    assert isinstance(got[0], Failure) and "boom from b" in got[0].exception_str


def test_revert_failure_ends_flow_in_failure(capture: Any) -> None:
    class BadRevert(Ok):
        def revert(self, **kwargs: Any) -> None:
            raise KeyError("cannot undo")

    flow = linear_flow.Flow("f").add(Ok("first"), BadRevert("bad"), Boom("boom"))
    engine = engines.load(flow)
    events = capture(engine)
    with pytest.raises(KeyError, match="cannot undo"):
        engine.run()
    assert events[-3:] == [("bad", "REVERTING"), ("bad", "REVERT_FAILURE"), ("flow", "FAILURE")]
    assert engine.storage.get_atom_state("first") == "SUCCESS"  # reverting stopped
    assert engine.storage.get_flow_state() == "FAILURE"


def test_parallel_failures_are_wrapped() -> None:
    import threading

    barrier = threading.Barrier(2, timeout=10)

    class SyncBoom(Boom):
        def execute(self) -> None:
            barrier.wait()
            super().execute()

    flow = unordered_flow.Flow("f").add(SyncBoom("b1"), SyncBoom("b2"))
    engine = engines.load(flow, engine="parallel", max_workers=2)
    with pytest.raises(WrappedFailure) as err:
        engine.run()
    assert len(err.value) == 2
    assert sorted(f.exception_str for f in err.value) == ["boom from b1", "boom from b2"]
    assert engine.storage.get_flow_state() == "REVERTED"


def _gives_up(capture: Any, **options: Any) -> list[Any]:
    inner = linear_flow.Flow("inner", retry=retry.Times(2, "r")).add(Boom("boom"))
    flow = linear_flow.Flow("outer").add(Ok("before"), inner)
    engine = engines.load(flow, **options)
    events: list[Any] = capture(engine)
    with pytest.raises(RuntimeError):
        engine.run()
    assert sum(1 for e in events if e == ("boom", "RUNNING")) == 2
    assert engine.storage.get_flow_state() == "REVERTED"
    return events


def test_times_gives_up_and_reverts_its_scope_only(capture: Any) -> None:
    # As TaskFlow: with no retry above, what the retry does not control stays as it is.
    assert _gives_up(capture)[-5:] == [
        ("boom", "REVERTING"), ("boom", "REVERTED"),
        ("r", "REVERTING"), ("r", "REVERTED"),
        ("flow", "REVERTED"),
    ]  # fmt: skip


def test_times_gives_up_with_defer_reverts_and_reverts_everything(capture: Any) -> None:
    assert _gives_up(capture, defer_reverts=True)[-7:] == [
        ("boom", "REVERTING"), ("boom", "REVERTED"),
        ("r", "REVERTING"), ("r", "REVERTED"),
        ("before", "REVERTING"), ("before", "REVERTED"),
        ("flow", "REVERTED"),
    ]  # fmt: skip


def test_nested_retries_inner_gives_up_then_outer_retries() -> None:
    boom = Flaky(2, name="flaky")  # fails on the 1st and 2nd run overall
    inner = linear_flow.Flow("inner", retry=retry.AlwaysRevert("inner_r")).add(boom)
    outer = linear_flow.Flow("outer", retry=retry.Times(3, "outer_r")).add(Ok("ok"), inner)
    engine = engines.load(outer)
    engine.run()
    assert boom.runs == 3
    assert len(engine.storage.get_retry_history("outer_r")) == 3


def test_revert_all_skips_outer_retry() -> None:
    inner = linear_flow.Flow("inner", retry=retry.AlwaysRevertAll("inner_r")).add(Boom("boom"))
    outer = linear_flow.Flow("outer", retry=retry.Times(5, "outer_r")).add(inner)
    engine = engines.load(outer)
    with pytest.raises(RuntimeError):
        engine.run()
    # The outer retry ran once and was never asked whether to retry.
    assert len(engine.storage.get_retry_history("outer_r")) == 1
    assert engine.storage.get_atom_state("outer_r") == "REVERTED"


def test_for_each_tries_each_value_until_one_works() -> None:
    tried: list[str] = []

    class Connect(task.Task):
        def execute(self, host: str) -> str:
            tried.append(host)
            if host != "c":
                raise ConnectionError(host)
            return "connected to " + host

    inner = linear_flow.Flow(
        "f", retry=retry.ForEach(["a", "b", "c", "d"], "hosts", provides="host")
    )
    result = engines.run(inner.add(Connect(provides="conn")))
    assert tried == ["a", "b", "c"] and result["conn"] == "connected to c"


def test_for_each_runs_out_of_values() -> None:
    inner = linear_flow.Flow("f", retry=retry.ForEach([1, 2], "r", provides="v"))

    class Fail(task.Task):
        def execute(self, v: int) -> None:
            raise ValueError(v)

    with pytest.raises(ValueError):
        engines.run(inner.add(Fail()))


def test_parameterized_for_each_reads_values_from_the_store() -> None:
    tried: list[int] = []

    class Pick(task.Task):
        def execute(self, n: int) -> int:
            tried.append(n)
            if n < 3:
                raise ValueError(n)
            return n

    flow = linear_flow.Flow("f", retry=retry.ParameterizedForEach("r", provides="n"))
    assert (
        engines.run(flow.add(Pick(provides="picked")), store={"values": [1, 2, 3]})["picked"] == 3
    )
    assert tried == [1, 2, 3]


def test_history_helpers() -> None:
    failure = Failure.from_exception(ValueError("x"))
    history = retry.History([(1, {"a": failure}), (2, {})])
    assert len(history) == 2 and list(history.provided_iter()) == [1, 2]
    assert history.caused_by(ValueError) and not history.caused_by(KeyError)
    assert list(history.outcomes_iter()) == [("a", failure)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: retry.Times(-1),  # (Times(0) runs the scope once, as TaskFlow's)
        lambda: retry.Times("3"),  # type: ignore[arg-type]
        lambda: retry.Times(True),
        lambda: retry.ForEach("abc"),
        lambda: retry.ForEach(5),  # type: ignore[arg-type]
        lambda: linear_flow.Flow("f", retry=Ok()),  # type: ignore[arg-type]
        lambda: linear_flow.Flow("f").add(retry.Times(2)),
    ],
)
def test_bad_retry_arguments(make: Any) -> None:
    with pytest.raises(InvalidArgument):
        make()


def test_for_each_exhausted_execute_raises_not_found() -> None:
    r = retry.ForEach([1], "r")
    with pytest.raises(NotFound):
        r.execute(retry.History([(1, {})]))


def test_reverted_flow_can_run_again(capture: Any) -> None:
    flaky = Flaky(1, name="flaky")
    engine = engines.load(linear_flow.Flow("f").add(Ok("ok"), flaky))
    with pytest.raises(RuntimeError):
        engine.run()
    events = capture(engine)
    engine.run()
    assert events[:4] == [
        ("ok", "PENDING"),
        ("flaky", "PENDING"),
        ("flow", "PENDING"),
        ("flow", "RUNNING"),
    ]
    assert engine.storage.get_flow_state() == "SUCCESS" and flaky.runs == 2


def test_a_retry_whose_on_failure_raises_reverts_everything_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenRetry(retry.Times):
        def on_failure(self, history: retry.History, *args: Any, **kwargs: Any) -> Any:
            raise KeyError("bug in the retry")

    inner = linear_flow.Flow("inner", retry=BrokenRetry(5, "broken")).add(Boom("boom"))
    engine = engines.load(linear_flow.Flow("outer").add(Ok("before"), inner))
    with pytest.raises(RuntimeError, match="boom from boom"):
        engine.run()
    assert engine.storage.get_atom_state("before") == "REVERTED"
    assert engine.storage.get_flow_state() == "REVERTED"
    assert any("on_failure raised" in r.getMessage() and r.exc_info for r in caplog.records)
