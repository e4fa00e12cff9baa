"""The writer's plan sends what the plain algorithm below would: the same runs, in order.

``_reference`` is the plan written for clarity (flatten, fold each row's updates by
preparing them again, sort by shape): :class:`~recorder.persistence.execution.Executor`
must give the same runs -- shape keys and parameters -- on whole prepared writes of
either dialect, the folds of several updates of one row included.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.persistence.execution import Executor, Run
from recorder.persistence.ops import (
    DELETABLE,
    AppendTransition,
    DeleteRow,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
)
from recorder.persistence.statements import Prepared, PreparedOp, PreparedUpdate, Statements

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROWS = ["a1", "a2", "a3"]
_SAVE_RANK = {"logbooks": 0, "flow_details": 1, "atom_details": 2}


def _reference(statements: Statements, ops: list[PreparedOp]) -> list[Run]:
    """Saves, one folded update per row (sorted by the repr of its shape), transitions,
    deletes children first; each run of one shape grouped."""
    saves: list[list[Prepared]] = [[], [], []]
    deletes: list[list[Prepared]] = [[], [], []]
    appended: list[Prepared] = []
    rows: dict[tuple[str, str], list[PreparedUpdate]] = {}
    for op in ops:
        if isinstance(op, PreparedUpdate):
            rows.setdefault((op.table, op.uuid), []).append(op)
        elif op.key == "transitions":
            appended.append(op)
        elif isinstance(op.key, str):
            saves[_SAVE_RANK[op.key]].append(op)
        else:
            assert op.key[0] == "delete"  # type: ignore[index]
            deletes[DELETABLE.index(op.key[1])].append(op)  # type: ignore[index]
    updates: list[Prepared] = []
    for (table, uuid), row_ops in rows.items():
        fields: dict[str, Any] = {}
        patch: dict[str, str] = {}
        for update in row_ops:
            fields.update(update.fields)
            patch.update(update.patch)
        updates.extend(statements.update_statements(table, uuid, row_ops[-1].at, fields, patch))
    updates.sort(key=lambda op: repr(op.key))
    planned = [*saves[0], *saves[1], *saves[2], *updates, *appended]
    planned.extend(op for rank in deletes for op in rank)
    runs: list[Run] = []
    for op in planned:
        if runs and runs[-1][0] == op.key:
            runs[-1][1].append(op.params)
        else:
            runs.append((op.key, [op.params]))
    return runs


_values = st.one_of(st.integers(-3, 3), st.floats(0.001, 9.0), st.none(), st.text(max_size=2))
_patches = st.dictionaries(st.sampled_from(["k", "j", 'q"uote', "duration", "ts"]), _values)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(["RUNNING", "SUCCESS"]),
        "intention": st.just("EXECUTE"),
        "attempt": st.integers(0, 3),
        "results": _values,
        "failure": st.none(),
    },
)


def _at(i: int) -> datetime:
    return T0 + timedelta(seconds=i)


_op = st.one_of(
    st.builds(
        lambda uuid, fields, patch, i: UpdateAtom(uuid, _at(i), fields, patch or None),
        st.sampled_from(ROWS),
        _fields,
        _patches,
        st.integers(0, 50),
    ),
    st.builds(
        lambda state, patch, i: UpdateFlow("f", _at(i), state, patch or None),
        st.sampled_from([None, "RUNNING"]),
        _patches,
        st.integers(0, 50),
    ),
    st.builds(
        lambda seq: AppendTransition(
            "f", None, "flow", "f", None, "RUNNING", T0, seq, 0, {}, "", ""
        ),
        st.integers(0, 9),
    ),
    st.builds(
        lambda uuid: SaveAtom(uuid, "f", uuid, "task", None, "EXECUTE", "1", {}, T0),
        st.sampled_from(ROWS),
    ),
    st.just(SaveFlow("f", "b", "flow", None, {}, T0)),
    st.just(SaveLogbook("b", "book", {}, T0)),
    st.builds(
        lambda table, uuid: DeleteRow(table, uuid),
        st.sampled_from(DELETABLE),
        st.sampled_from(ROWS),
    ),
)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(st.lists(_op, min_size=1, max_size=4), max_size=8))
def test_the_plan_is_the_reference_plan(dialect: str, writes: list[list[Op]]) -> None:
    statements = Statements(dialect)
    groups = [statements.prepare(ops) for ops in writes]
    expected = _reference(statements, [op for group in groups for op in group])
    assert Executor(statements).plan(groups) == expected


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_two_updates_of_a_row_fold_into_one(dialect: str) -> None:
    statements = Statements(dialect)
    running = UpdateAtom("a1", _at(1), {"state": "RUNNING", "attempt": 1}, {"RUNNING-ts": 1.5})
    success = UpdateAtom("a1", _at(2), {"state": "SUCCESS", "results": 1}, {"duration": 0.5})
    groups = [statements.prepare([running]), statements.prepare([success])]
    executor = Executor(statements)
    assert (
        executor.plan(groups)
        == executor.plan(groups)
        == _reference(statements, [op for group in groups for op in group])
    )
    [(key, [params])] = executor.plan(groups)
    assert key == (
        "update",
        "atom",
        ("attempt", "results", "state"),
        1 if dialect != "sqlite" else 2,
    )
    assert params["b_state"] == "SUCCESS" and params["b_attempt"] == 1


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    update=st.builds(
        lambda uuid, fields, patch: UpdateAtom(uuid, _at(1), fields, patch or None),
        st.sampled_from(ROWS),
        _fields,
        _patches,
    ),
    seq=st.integers(1, 9),
)
def test_a_write_of_one_state_change_plans_as_the_reference(
    dialect: str, update: UpdateAtom, seq: int
) -> None:
    """The durable writer commits one state change per transaction (its update, then
    its trail row), which the plan takes a short way for: same runs as the reference,
    also for a patch SQLite merges by a rewrite."""
    statements = Statements(dialect)
    row = AppendTransition("f", update.uuid, "task", "t", None, "RUNNING", T0, seq, 1, {}, "", "")
    groups = [statements.prepare([update, row])]
    prepared_row = groups[0][1]
    assert isinstance(prepared_row, Prepared)
    expected = _reference(statements, groups[0])
    assert Executor(statements).plan(groups) == expected
    assert expected[-1] == ("transitions", [prepared_row.params])
