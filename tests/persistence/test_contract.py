"""The storage contract: every backend stores and loads the same facts the same way.

Runs against MemoryBackend (the reference), SQLite and PostgreSQL, each SQL
database in durable and batched mode.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.exceptions import NotFound
from recorder.failure import Failure
from recorder.persistence.models import AtomDetail, FlowDetail, new_uuid
from recorder.persistence.ops import (
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
)
from tests.persistence.helpers import Flow, as_lists, as_stored, at, later, transitions_of


def _failure(message: str = "boom") -> Failure:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError(message, 42, 1.5) from inner
    except ValueError:
        return Failure()


def test_saved_records_load_back_with_every_field(backend: Any) -> None:
    flow = Flow(backend, atoms=("first", "second"))
    loaded = backend.load_flow(flow.uuid)
    assert isinstance(loaded, FlowDetail)
    assert (loaded.uuid, loaded.name, loaded.logbook_uuid, loaded.state) == (
        flow.uuid,
        "flow",
        flow.logbook,
        "PENDING",
    )
    assert loaded.meta == {"factory": None}
    assert loaded.created_at == at(0.5)
    assert loaded.created_at.tzinfo is not None
    assert loaded.updated_at is None
    assert list(loaded.atoms) == ["first", "second"]
    atom = loaded.atoms["first"]
    assert isinstance(atom, AtomDetail)
    assert (atom.uuid, atom.kind, atom.state, atom.intention, atom.version) == (
        flow.atoms["first"],
        "task",
        "PENDING",
        "EXECUTE",
        "1.0",
    )
    assert (atom.results, atom.failure, atom.revert_results, atom.revert_failure) == (
        None,
        None,
        None,
        None,
    )
    assert atom.attempt == 0
    assert atom.meta == {}
    assert atom.created_at == at(1)


def test_saving_again_changes_nothing(backend: Any) -> None:
    flow = Flow(backend, atoms=("a",))
    backend.write(
        [
            SaveLogbook(flow.logbook, "other book", {"x": 1}, at(9)),
            SaveFlow(flow.uuid, flow.logbook, "renamed", "RUNNING", {"x": 1}, at(9)),
            SaveAtom(flow.atoms["a"], flow.uuid, "a", "retry", "RUNNING", "REVERT", "2", {}, at(9)),
        ]
    )
    loaded = backend.load_flow(flow.uuid)
    assert (loaded.name, loaded.state, loaded.meta) == ("flow", "PENDING", {"factory": None})
    atom = loaded.atoms["a"]
    assert (atom.kind, atom.state, atom.intention, atom.version) == (
        "task",
        "PENDING",
        "EXECUTE",
        "1.0",
    )
    assert backend.load_logbook(flow.logbook).name == "book"


def test_update_atom_sets_only_the_named_fields(backend: Any) -> None:
    flow = Flow(backend, atoms=("a", "b"))
    when = later()
    backend.write([UpdateAtom(flow.atoms["a"], when, {"state": "RUNNING", "attempt": 1})])
    backend.write([UpdateAtom(flow.atoms["a"], later(), {"results": {"answer": [1, 2.5, "x"]}})])
    final = later()
    backend.write([UpdateAtom(flow.atoms["a"], final, {"state": "SUCCESS"})])
    loaded = backend.load_flow(flow.uuid)
    a, b = loaded.atoms["a"], loaded.atoms["b"]
    assert (a.state, a.attempt, a.results, a.intention, a.version) == (
        "SUCCESS",
        1,
        {"answer": [1, 2.5, "x"]},
        "EXECUTE",
        "1.0",
    )
    assert a.updated_at == final
    assert (b.state, b.attempt, b.updated_at) == ("PENDING", 0, None)


def test_update_flow_sets_state_and_leaves_atoms_alone(backend: Any) -> None:
    flow = Flow(backend, atoms=("a",))
    when = later()
    backend.write([UpdateFlow(flow.uuid, when, state="RUNNING")])
    backend.write([UpdateFlow(flow.uuid, later(), meta_patch={"progress": 0.5})])
    loaded = backend.load_flow(flow.uuid)
    assert loaded.state == "RUNNING"
    assert loaded.meta == {"factory": None, "progress": 0.5}
    assert loaded.atoms["a"].updated_at is None


def test_failures_and_retry_history_round_trip(backend: Any) -> None:
    flow = Flow(backend, atoms=("task", "retry"))
    failure = _failure()
    history = [
        (1, {"task": _failure("first")}),
        ("two", {"task": _failure("second"), "b": failure}),
    ]
    backend.write(
        [
            UpdateAtom(flow.atoms["task"], later(), {"state": "FAILURE", "failure": failure}),
            UpdateAtom(
                flow.atoms["task"],
                later(),
                {"revert_results": {"undone": True}, "revert_failure": _failure("revert")},
            ),
            UpdateAtom(flow.atoms["retry"], later(), {"results": history}),
        ]
    )
    loaded = backend.load_flow(flow.uuid)
    task = loaded.atoms["task"]
    assert isinstance(task.failure, Failure)
    assert task.failure.matches(failure)
    assert task.failure.exception_type_names[0] == "ValueError"
    assert task.failure.check(ValueError) is ValueError
    assert task.failure.causes[0].exception_str == "'inner'"
    assert task.failure.exception_args == ("boom", 42, 1.5)
    assert task.revert_results == {"undone": True}
    assert task.revert_failure.exception_str == str(("revert", 42, 1.5))
    stored_history = loaded.atoms["retry"].results
    # Documented: tuples come back as lists; the failures inside are Failures again.
    assert as_lists(stored_history) == as_lists(history)
    result, failures = stored_history[1]
    assert result == "two"
    assert isinstance(failures["b"], Failure)
    assert failures["b"].traceback_str == failure.traceback_str


META_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"a": 1, "b": {"x": 1, "y": 2}}, {"b": {"x": 9}}),  # nested dicts are replaced
    ({"a": 1, "b": 2}, {"a": None}),  # None is stored, not a delete
    ({"keep": [1, 2]}, {"new": {"deep": {"deeper": None}}}),
    (
        {},
        {
            'quote"key': 1,
            "dot.key": 2,
            "it's": 3,
            "[0]": 4,
            "$": 5,
            "": 6,
            "sp ace": 7,
            "ünï 😀": 8,
            "back\\slash": 9,
        },
    ),
    ({"RUNNING-timestamp": 1.25}, {"RUNNING-timestamp": 1716037200.123456, "duration": 0.0}),
    ({"a": [1, {"b": None}]}, {"a": [], "z": False}),
]


@pytest.mark.parametrize(("initial", "patch"), META_CASES)
def test_meta_patch_is_dict_update_of_top_level_keys(
    backend: Any, initial: dict[str, Any], patch: dict[str, Any]
) -> None:
    flow = Flow(backend, atoms=("a",))
    backend.write(
        [
            UpdateAtom(flow.atoms["a"], later(), {}, meta_patch=initial),
            UpdateFlow(flow.uuid, later(), meta_patch=initial),
        ]
    )
    backend.write(
        [
            UpdateAtom(flow.atoms["a"], later(), {"state": "RUNNING"}, meta_patch=patch),
            UpdateFlow(flow.uuid, later(), meta_patch=patch),
        ]
    )
    expected = dict(initial)
    expected.update(copy.deepcopy(patch))
    loaded = backend.load_flow(flow.uuid)
    assert loaded.atoms["a"].meta == expected
    assert loaded.atoms["a"].state == "RUNNING"
    assert loaded.meta == {"factory": None, **expected}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
meta_dicts = st.dictionaries(
    st.text(max_size=6).filter(lambda k: "\x00" not in k), json_values, max_size=4
)


@given(first=meta_dicts, second=meta_dicts, third=meta_dicts)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_meta_patches_match_dict_update_for_any_json(
    backend: Any, first: dict[str, Any], second: dict[str, Any], third: dict[str, Any]
) -> None:
    flow = Flow(backend, atoms=("a",))
    expected: dict[str, Any] = {}
    for patch in (first, second, third):
        backend.write([UpdateAtom(flow.atoms["a"], later(), {}, meta_patch=patch)])
        expected.update(copy.deepcopy(patch))
    assert backend.load_flow(flow.uuid).atoms["a"].meta == expected


def test_transitions_are_appended_in_order(backend: Any) -> None:
    flow = Flow(backend, atoms=("a",))
    ops = [
        flow.transition(None, "PENDING", "RUNNING", 1),
        flow.transition("a", "PENDING", "RUNNING", 2, attempt=1),
        flow.transition("a", "RUNNING", "SUCCESS", 3, attempt=1, details={"result": "ok"}),
        flow.transition(None, "RUNNING", "SUCCESS", 4),
    ]
    for op in ops:
        backend.write([op])
    stored = transitions_of(backend, flow.uuid)
    assert stored == as_stored(ops)
    assert stored[2].details == {"result": "ok"}
    assert backend.last_transition(flow.uuid) == (3, "h3")
    assert backend.last_transition(new_uuid()) is None


def test_a_transition_written_again_is_kept_once(backend: Any) -> None:
    flow = Flow(backend, atoms=("a",))
    first = flow.transition("a", "PENDING", "RUNNING", 1, attempt=1)
    backend.write([first])
    backend.write([first])  # a retry after an unknown commit outcome sends it again
    assert transitions_of(backend, flow.uuid) == as_stored([first])
    # (A *different* row at a stored seq is refused: test_sql_backend's fork tests.)


def test_logbook_loads_with_flows_and_atoms(backend: Any) -> None:
    flow = Flow(backend, atoms=("a", "b"))
    other = new_uuid()
    backend.write(
        [
            SaveFlow(other, flow.logbook, "second", None, {}, at(2)),
            SaveAtom(new_uuid(), other, "only", "retry", None, "EXECUTE", None, {}, at(3)),
        ]
    )
    book = backend.load_logbook(flow.logbook)
    assert (book.name, book.meta, book.created_at) == ("book", {"owner": "tests"}, at())
    assert set(book.flows) == {flow.uuid, other}
    assert list(book.flows[flow.uuid].atoms) == ["a", "b"]
    only = book.flows[other].atoms["only"]
    assert (only.kind, only.state, only.version) == ("retry", None, None)


def test_unknown_records_raise_not_found(backend: Any) -> None:
    with pytest.raises(NotFound):
        backend.load_flow(new_uuid())
    with pytest.raises(NotFound):
        backend.load_logbook(new_uuid())
    with pytest.raises(KeyError):  # NotFound is a KeyError, as in TaskFlow
        backend.load_flow("nope")


def test_loaded_records_do_not_alias_what_was_written(backend: Any) -> None:
    flow = Flow(backend, atoms=("a",))
    results = {"list": [1, 2]}
    backend.write([UpdateAtom(flow.atoms["a"], later(), {"results": results})])
    results["list"].append(3)  # the caller changes its object after writing
    first = backend.load_flow(flow.uuid)
    first.atoms["a"].results["list"].append(4)
    assert backend.load_flow(flow.uuid).atoms["a"].results == {"list": [1, 2]}
