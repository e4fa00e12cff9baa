"""Folding the updates of one write changes nothing about what gets stored."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.persistence.memory import MemoryBackend
from recorder.persistence.ops import (
    AppendTransition,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
    UpdateFolder,
    fold_updates,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ATOMS = ["a1", "a2"]

values = st.one_of(
    st.integers(), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2)
)
meta = st.dictionaries(st.sampled_from(["k", "j", "duration"]), values, max_size=2)
atom_update = st.builds(
    lambda uuid, state, attempt, patch, i: UpdateAtom(
        uuid, T0 + timedelta(seconds=i), {"state": state, "attempt": attempt}, patch or None
    ),
    st.sampled_from(ATOMS),
    st.sampled_from(["RUNNING", "SUCCESS", "FAILURE"]),
    st.integers(0, 3),
    meta,
    st.integers(0, 100),
)
flow_update = st.builds(
    lambda state, patch, i: UpdateFlow("f", T0 + timedelta(seconds=i), state, patch or None),
    st.sampled_from([None, "RUNNING", "SUCCESS"]),
    meta,
    st.integers(0, 100),
)
transition = st.builds(
    lambda seq: AppendTransition("f", None, "flow", "f", None, "RUNNING", T0, seq, 0, {}, "", ""),
    st.integers(1, 5),
)


def _fresh() -> tuple[MemoryBackend, list[Op]]:
    backend = MemoryBackend()
    setup: list[Op] = [
        SaveLogbook("b", "book", {}, T0),
        SaveFlow("f", "b", "flow", "PENDING", {}, T0),
        *(SaveAtom(a, "f", a, "task", "PENDING", "EXECUTE", "1", {}, T0) for a in ATOMS),
    ]
    backend.write(setup)
    return backend, setup


# A shared CI machine can stall a draw; the property, not the timing, is under test.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(atom_update, flow_update, transition), max_size=10))
def test_folded_ops_store_the_same_as_ops_one_by_one(ops: list[Op]) -> None:
    one_by_one, _ = _fresh()
    for op in ops:
        one_by_one.write([op])
    folded, _ = _fresh()
    folded.write(fold_updates(list(ops)))
    assert folded.load_flow("f") == one_by_one.load_flow("f")
    assert folded.transitions == one_by_one.transitions


def test_updates_of_a_row_become_one_op() -> None:
    ops: list[Op] = [
        UpdateAtom("a1", T0, {"state": "RUNNING"}),
        UpdateAtom("a1", T0, {}, {"RUNNING-timestamp": 1.0}),
        UpdateAtom("a2", T0, {"state": "RUNNING"}),
        UpdateAtom("a1", T0, {}, {"duration": 2.0}),
    ]
    folded = fold_updates(ops)
    assert folded == [
        UpdateAtom("a1", T0, {"state": "RUNNING"}, {"RUNNING-timestamp": 1.0, "duration": 2.0}),
        UpdateAtom("a2", T0, {"state": "RUNNING"}),
    ]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(atom_update, flow_update, transition), max_size=10))
def test_an_update_handed_over_as_fields_folds_as_the_op_would(ops: list[Op]) -> None:
    as_ops, as_fields = UpdateFolder(), UpdateFolder()
    for op in ops:
        as_ops.add(op)
        if isinstance(op, UpdateAtom):  # the write path's way: no op built
            as_fields.update_atom(op.uuid, op.at, dict(op.changes), op.meta_patch)
        else:
            as_fields.add(op)
    assert as_fields.ops() == as_ops.ops() == fold_updates(list(ops))


def test_folding_leaves_the_callers_dicts_alone() -> None:
    changes, patch = {"state": "RUNNING"}, {"RUNNING-timestamp": 1.0}
    folder = UpdateFolder()
    folder.update_atom("a1", T0, changes, patch)
    folder.update_atom("a1", T0, {"state": "SUCCESS"}, {"duration": 2.0})
    assert folder.ops() == [
        UpdateAtom("a1", T0, {"state": "SUCCESS"}, {"RUNNING-timestamp": 1.0, "duration": 2.0})
    ]
    assert (changes, patch) == ({"state": "RUNNING"}, {"RUNNING-timestamp": 1.0})
