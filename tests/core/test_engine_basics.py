"""Loading and running flows: data flow, patterns, names, and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from recorder import engines, task
from recorder.exceptions import (
    AlreadyRunning,
    DependencyCycle,
    DuplicateName,
    InvalidArgument,
    MissingDependencies,
    NotFound,
    RecorderError,
)
from recorder.patterns import graph_flow, linear_flow, unordered_flow


class Add(task.Task):
    def execute(self, x: int, y: int) -> int:
        return x + y


class Const(task.Task):
    def __init__(self, value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value

    def execute(self) -> Any:
        return self.value


class Optional(task.Task):
    def execute(self, x: int, bonus: int = 100) -> int:
        return x + bonus


def test_default_name_is_module_and_class() -> None:
    assert Add().name == "%s.Add" % Add.__module__
    assert Add("named").name == "named"


def test_requires_from_signature_with_optional_and_rebind() -> None:
    t = Optional()
    assert t.requires == {"x"} and t.optional == {"bonus"}
    assert Add(rebind={"x": "a"}).requires == {"a", "y"}
    assert Add(rebind=["p", "q"]).requires == {"p", "q"}
    assert Add(inject={"y": 1}).requires == {"x"}
    # As TaskFlow: requiring what execute() cannot take is refused up front.
    with pytest.raises(InvalidArgument, match=r"^Extra arguments"):
        Add(requires=["extra"])


def test_linear_flow_passes_results_along() -> None:
    flow = linear_flow.Flow("sum").add(
        Const(1, name="one", provides="x"),
        Add("add", provides="z", rebind={"y": "x"}),
        Add("add2", provides="w", rebind={"x": "z", "y": "z"}),
    )
    result = engines.run(flow)
    assert result == {"x": 1, "z": 2, "w": 4}


def test_store_inject_and_optional_arguments() -> None:
    flow = linear_flow.Flow("f").add(
        Optional("opt", provides="a"),
        Optional("opt2", provides="b", inject={"bonus": 1}, rebind={"x": "a"}),
    )
    assert engines.run(flow, store={"x": 1}) == {"x": 1, "a": 101, "b": 102}
    assert engines.run(flow, store={"x": 1, "bonus": 5})["b"] == 7


def test_provides_tuple_and_set() -> None:
    class Pair(task.Task):
        def execute(self) -> tuple[int, int]:
            return 3, 4

    class Mapping(task.Task):
        def execute(self) -> dict[str, int]:
            return {"k": 9, "other": 0}

    flow = linear_flow.Flow("f").add(
        Pair(provides=("x", "y")), Mapping(provides={"k"}), Add(provides="s")
    )
    assert engines.run(flow) == {"x": 3, "y": 4, "k": 9, "s": 7}


def test_nearest_earlier_provider_wins() -> None:
    flow = linear_flow.Flow("f").add(
        Const(1, name="first", provides="x"),
        Const(2, name="second", provides="x"),
        Add("add", provides="s", rebind={"y": "x"}),
    )
    engine = engines.load(flow)
    engine.run()
    assert engine.storage.fetch("s") == 4
    assert engine.storage.get("first") == 1


def test_graph_flow_orders_by_data_and_links(capture: Any) -> None:
    order: list[str] = []

    class Step(task.Task):
        def execute(self, **kwargs: Any) -> str:
            order.append(self.name)
            return self.name

    c = Step("c", provides="c_out", requires=["b_out"])
    b = Step("b", provides="b_out", requires=["a_out"])
    a = Step("a", provides="a_out")
    d = Step("d")
    flow = graph_flow.Flow("g").add(c, b, a, d)
    flow.link(c, d)
    engines.run(flow)
    assert order == ["a", "b", "c", "d"]


def test_graph_flow_cycle_is_rejected_when_added() -> None:
    a = Add("a", provides="x", rebind={"y": "x2"})
    b = Add("b", provides="x2", rebind={"x": "x"})
    flow = graph_flow.Flow("g").add(a)
    with pytest.raises(DependencyCycle, match=r"^No path through the node"):
        flow.add(b)  # rejected when added, as TaskFlow's; the flow stays as it was
    assert list(flow) == [a]


def test_nested_flows_run_in_order(capture: Any) -> None:
    inner = unordered_flow.Flow("inner").add(Const(1, name="u1"), Const(2, name="u2"))
    flow = linear_flow.Flow("outer").add(Const(0, name="first"), inner, Const(3, name="last"))
    engine = engines.load(flow)
    events = capture(engine)
    engine.run()
    running = [name for name, state in events if state == "RUNNING" and name != "flow"]
    assert running[0] == "first" and running[-1] == "last"
    assert set(running[1:3]) == {"u1", "u2"}


def test_missing_requirement_names_atom_and_symbol() -> None:
    flow = linear_flow.Flow("f").add(Add("adder", provides="sum"))
    engine = engines.load(flow, store={"x": 1})  # checked when run (or validated), as TaskFlow
    with pytest.raises(MissingDependencies) as err:
        engine.run()
    assert "'adder' requires 'y'" in str(err.value)
    engine.storage.inject({"y": 2})  # what is injected after loading counts
    engine.run()
    assert engine.storage.fetch("sum") == 3


def test_unordered_sibling_cannot_feed_another() -> None:
    flow = unordered_flow.Flow("f").add(Const(1, name="p", provides="x"), Add("a", inject={"y": 1}))
    with pytest.raises(MissingDependencies, match="'a' requires 'x'"):
        engines.load(flow).validate()


def test_duplicate_names_rejected() -> None:
    flow = linear_flow.Flow("f").add(Const(1, name="same"), Const(2, name="same"))
    with pytest.raises(DuplicateName, match="'same'"):
        engines.load(flow)


@pytest.mark.parametrize(
    "make",
    [
        lambda: engines.load("not a flow"),  # type: ignore[arg-type]
        lambda: engines.load(linear_flow.Flow("f"), engine="warp"),
        lambda: linear_flow.Flow(""),
        lambda: linear_flow.Flow("f").add("task"),  # type: ignore[arg-type]
        lambda: Const(1, provides=42),
        lambda: Add(rebind={"zzz": "x"}),
        lambda: task.FunctorTask("nope"),  # type: ignore[arg-type]
        lambda: engines.load(linear_flow.Flow("f"), engine="parallel", max_workers=0),
    ],
)
def test_bad_input_is_a_recorder_error(make: Any) -> None:
    with pytest.raises(RecorderError):
        make()


def test_run_while_running_is_refused() -> None:
    holder: dict[str, Any] = {}

    class Reenter(task.Task):
        def execute(self) -> None:
            with pytest.raises(AlreadyRunning):
                holder["engine"].run()
            holder["checked"] = True

    engine = engines.load(linear_flow.Flow("f").add(Reenter()))
    holder["engine"] = engine
    engine.run()
    assert holder["checked"]


def test_storage_surface() -> None:
    flow = linear_flow.Flow("f").add(Const(5, name="five", provides="v"))
    engine = engines.load(flow, store={"s": 1})
    engine.run()
    storage = engine.storage
    assert storage.flow_name == "f" and storage.get_flow_state() == "SUCCESS"
    assert storage.get_atom_state("five") == "SUCCESS"
    assert len(storage.get_atom_uuid("five")) == 36
    storage.update_atom_metadata("five", {"k": 1})
    storage.update_atom_metadata("five", {"j": 2})
    assert storage.get_atom_meta("five") == {"progress": 1.0, "k": 1, "j": 2}  # as TaskFlow
    storage.update_flow_metadata({"owner": "me"})
    assert storage.flow_meta["owner"] == "me"
    assert storage.fetch_all() == {"s": 1, "v": 5}
    with pytest.raises(NotFound):
        storage.fetch("nothing")
    with pytest.raises(NotFound):
        storage.get_atom_state("nothing")


def test_functor_task() -> None:
    def double(x: int) -> int:
        return 2 * x

    flow = linear_flow.Flow("f").add(task.FunctorTask(double, provides="y"))
    assert engines.run(flow, store={"x": 4})["y"] == 8


def test_progress_is_saved_in_meta() -> None:
    class Slow(task.Task):
        def execute(self) -> None:
            self.update_progress(0.5)
            self.update_progress(7)

    engine = engines.load(linear_flow.Flow("f").add(Slow("slow")))
    engine.run()
    assert engine.storage.get_atom_meta("slow")["progress"] == 1.0


def test_empty_flow_succeeds(capture: Any) -> None:
    engine = engines.load(linear_flow.Flow("empty"))
    events = capture(engine)
    engine.run()
    assert events == [("flow", "RUNNING"), ("flow", "SUCCESS")]


def test_invalid_argument_is_value_error() -> None:
    with pytest.raises(ValueError):
        engines.load(linear_flow.Flow("f"), engine="nope")
    assert issubclass(InvalidArgument, RecorderError)


def test_pre_and_post_hooks_wrap_execute_and_revert() -> None:
    calls: list[str] = []

    class Hooked(task.Task):
        def pre_execute(self) -> None:
            calls.append("pre_execute")

        def execute(self) -> None:
            calls.append("execute")

        def post_execute(self) -> None:
            calls.append("post_execute")

        def pre_revert(self) -> None:
            calls.append("pre_revert")

        def revert(self, **kwargs: Any) -> None:
            calls.append("revert")

        def post_revert(self) -> None:
            calls.append("post_revert")

    class Boom(task.Task):
        def execute(self) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        engines.run(linear_flow.Flow("f").add(Hooked("h"), Boom("b")))
    assert calls == [
        "pre_execute",
        "execute",
        "post_execute",
        "pre_revert",
        "revert",
        "post_revert",
    ]


def test_a_retry_alone_is_refused_when_loading() -> None:
    from recorder import retry

    with pytest.raises(TypeError, match="retry 'r' alone: a retry controls a flow"):
        engines.load(retry.Times(2, "r"))
