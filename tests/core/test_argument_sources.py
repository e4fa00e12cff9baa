"""Where arguments come from: atom-level injection by symbol, and revert's own needs."""

from __future__ import annotations

from typing import Any

import pytest

from recorder import engines, task
from recorder.exceptions import InvalidType, MissingDependencies, WrappedFailure
from recorder.patterns import linear_flow

REVERTED: list[Any] = []


class Sum(task.Task):
    def execute(self, x: int, y: int) -> int:
        return x + y


class FailsAndRevertsWithNote(task.Task):
    def execute(self) -> None:
        raise RuntimeError("boom")

    def revert(self, note: str, **kwargs: Any) -> None:
        REVERTED.append(note)


def test_injected_values_are_keyed_by_the_rebound_symbol() -> None:
    # As TaskFlow's storage: rebind x<-a, y<-b; inject names the symbols a and b.
    atom = Sum(provides="s", rebind={"x": "a", "y": "b"}, inject={"a": 2, "b": 5})
    assert atom.requires == set()
    assert engines.run(atom) == {"s": 7}


def test_an_injected_argument_name_does_not_satisfy_a_rebound_symbol() -> None:
    atom = Sum(provides="s", rebind={"x": "a"}, inject={"x": 2, "y": 5})
    with pytest.raises(MissingDependencies, match="requires 'a'"):
        engines.load(atom).validate()


def test_a_revert_requirement_nobody_provides_is_refused_before_running() -> None:
    REVERTED.clear()
    engine = engines.load(linear_flow.Flow("f").add(FailsAndRevertsWithNote("t")))
    with pytest.raises(MissingDependencies, match="'t' requires 'note' to revert"):
        engine.run()
    assert REVERTED == [] and engine.storage.get_atom_state("t") == "PENDING"
    engine.storage.inject({"note": "undo it"})
    with pytest.raises((RuntimeError, WrappedFailure)):
        engine.run()
    assert REVERTED == ["undo it"]


def test_missing_requirements_name_every_atom_and_chain_one_cause_per_atom() -> None:
    flow = linear_flow.Flow("f").add(
        Sum("one", provides="s"), Sum("two", rebind={"x": "p", "y": "q"}, inject={"q": 1})
    )
    with pytest.raises(MissingDependencies) as caught:
        engines.load(flow).validate()
    error = caught.value
    assert error.missing_requirements == ["p", "x", "y"]
    assert "; caused by" not in str(error)  # the message already names them all
    first = error.cause
    assert isinstance(first, MissingDependencies)
    per_atom = [first, first.cause]
    assert [str(e) for e in per_atom] == [
        "atom 'two' requires 'p'",
        "atom 'one' requires 'x'; atom 'one' requires 'y'",
    ]
    assert isinstance(per_atom[1], MissingDependencies) and per_atom[1].cause is None


def test_saving_the_injector_replaces_the_injected_values_for_good(sqlite_url: str) -> None:
    from recorder.persistence import connect

    with connect(sqlite_url) as backend:
        engine = engines.load(Sum("s", provides="r"), store={"x": 1, "y": 2}, backend=backend)
        storage = engine.storage
        storage.save(storage.injector_name, {"x": 5})
        assert dict(storage.store) == {"x": 5}
        with pytest.raises(MissingDependencies, match="requires 'y'"):
            engine.run()
        stored = backend.load_flow(storage.flow_uuid)
    assert stored.meta["store"] == {"x": 5}
    with pytest.raises(InvalidType, match="must be a mapping"):
        storage.save(storage.injector_name, [("x", 1)])


class AddOne(task.Task):
    default_provides = "value"

    def execute(self, value: int) -> int:
        return value + 1


def test_storage_fetches_for_an_atom_see_what_the_engine_passed_it() -> None:
    flow = linear_flow.Flow("f").add(
        AddOne("a", rebind={"value": "source"}), AddOne("b"), AddOne("c")
    )
    engine = engines.load(flow, store={"source": 0})
    engine.run()
    storage = engine.storage
    seen = {n: storage.fetch_mapped_args({"value": "value"}, atom_name=n) for n in "bc"}
    assert seen == {"b": {"value": 1}, "c": {"value": 2}}  # the nearest earlier provider
    assert storage.get("c") == 3


def test_a_provider_a_decider_skipped_gives_way_to_the_next_nearest() -> None:
    from recorder.patterns import graph_flow

    flow = graph_flow.Flow("g")
    a, b, c = AddOne("a", inject={"value": 0}), AddOne("b"), AddOne("c")
    flow.add(a, b, c, resolve_requires=False)
    flow.link(a, b, decider=lambda history: False, decider_depth="atom")
    flow.link(b, c)
    engine = engines.load(flow)
    engine.run()
    assert engine.storage.get_atom_state("b") == "IGNORE"
    assert engine.storage.get("c") == 2  # a's 1, plus one
