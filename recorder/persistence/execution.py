"""Running prepared ops in the writer's thread: planned into runs, one ``executemany`` each.

Ops committed together in one transaction are planned first
(:meth:`Executor.plan`): the updates of one row are folded into one statement
and ops of one shape are gathered into one *run* -- a shape key and the
driver-ready parameters of each row it touches -- which is one
``executemany``. Order inside a transaction is invisible to readers, so a plan
may reorder: saves first (parents before children, each table in written
order), then one folded update per row (later fields win, meta patches applied
in order -- the same as applying them one by one), grouped by shape in a stable
order, then all transitions (they only need their flow row, saved before), then
deletes, children first.

The plan works on the writes as queued (lists of :class:`Prepared`) without
flattening them, and builds only the runs: on the batched writer's hot path every
container made per op is paid twice, once to build and once in garbage collection.
The common fold -- two updates of a row (an atom's RUNNING and SUCCESS) whose
patches name different keys -- is built from the two prepared parameter dicts as
they are, knowing how :class:`~recorder.persistence.statements.Statements` names
them; ``tests/persistence/test_plan.py`` holds it to preparing the merged update.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from recorder.exceptions import InvariantViolation
from recorder.persistence import encoding, sql_text
from recorder.persistence.ops import DELETABLE, trail_conflict
from recorder.persistence.statements import Prepared, Statements

Params = dict[str, Any]
Run = tuple[Hashable, list[Params]]  # one shape, the parameters of each of its rows
Row = tuple[str, str]

# Saves of parents go before saves of children (shape key = table, by rank).
_SAVES = ("logbooks", "flow_details", "atom_details")
_SAVE_RANK = {table: rank for rank, table in enumerate(_SAVES)}
_DELETES = tuple(("delete", table) for table in DELETABLE)
_MAX_JOINS = 1024  # pairs of update shapes whose fold is kept (bounded, like the SQL paths)


class _Join(NamedTuple):
    """How two updates of one row, of these shapes, become the folded update's parameters.

    ``merge``: the two parameter dicts merged (the later's fields and time win), and on
    PostgreSQL both patch objects joined into one (``concat``) -- for PostgreSQL, and
    for SQLite when the later update has no patch. Otherwise (SQLite): the first's
    parameters, the later's ``copied`` fields and time, and the later's patch parameters
    renumbered after the first's (``moved``: source and destination names).
    """

    key: Hashable
    merge: bool
    concat: bool
    copied: tuple[str, ...]
    moved: tuple[tuple[str, str], ...]


class Executor:
    """Plans and runs prepared ops of one dialect on a connection (one thread at a time)."""

    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._pg = statements.dialect == "postgresql"
        self._ranks: dict[Hashable, str] = {}
        self._joins: dict[tuple[Hashable, Hashable], _Join] = {}

    def plan(self, groups: Iterable[list[Prepared]]) -> list[Run]:
        """The runs with the same effect as ``groups``' ops in order (module docstring)."""
        saves: tuple[list[Params], ...] = ([], [], [])
        deletes: tuple[list[Params], ...] = ([], [], [])
        appended: list[Params] = []
        # Each updated row's update, or every update of a row updated more than once.
        rows: dict[Row, Prepared | list[Prepared]] = {}
        rewritten: set[Row] = set()  # rows whose patch SQLite merges by a rewrite
        for group in groups:
            for op in group:
                key, params, table, uuid, _, fields, _ = op
                if fields is not None and table is not None and uuid is not None:
                    row = (table, uuid)
                    first = rows.setdefault(row, op)
                    if first is not op:
                        if isinstance(first, list):
                            first.append(op)
                        else:
                            rows[row] = [first, op]
                elif key == "transitions":
                    appended.append(params)
                elif isinstance(key, str):
                    saves[_SAVE_RANK[key]].append(params)
                elif key[0] == "delete":  # type: ignore[index]
                    deletes[DELETABLE.index(key[1])].append(params)  # type: ignore[index]
                elif table is not None and uuid is not None:  # ("rewrite", table): rebuilt
                    rewritten.add((table, uuid))  # with its update below
        runs: list[Run] = [
            (table, found) for table, found in zip(_SAVES, saves, strict=True) if found
        ]
        runs.extend(self._update_runs(rows, rewritten))
        if appended:
            runs.append(("transitions", appended))
        runs.extend((key, found) for key, found in zip(_DELETES, deletes, strict=True) if found)
        return runs

    def _update_runs(
        self, rows: dict[Row, Prepared | list[Prepared]], rewritten: set[Row]
    ) -> list[Run]:
        """One update per row (folded when it was updated more than once), runs by shape.

        A row updated once keeps its prepared update as it is, unless SQLite merges
        its patch by a rewrite: the rewrite was dropped above, rebuilt here with it.
        """
        by_shape: dict[Hashable, list[Params]] = {}
        for row, found in rows.items():
            if rewritten and row in rewritten:
                self._add_all(
                    by_shape, self._fold(row, found if isinstance(found, list) else [found])
                )
                continue
            if not isinstance(found, list):
                key, params = found.key, found.params
            elif len(found) != 2 or (pair := self._fold_two(found[0], found[1])) is None:
                self._add_all(by_shape, self._fold(row, found))
                continue
            else:
                key, params = pair
            run = by_shape.get(key)
            if run is None:
                by_shape[key] = [params]
            else:
                run.append(params)
        if len(by_shape) == 1:
            return list(by_shape.items())
        return [(key, by_shape[key]) for key in sorted(by_shape, key=self._rank)]

    @staticmethod
    def _add_all(by_shape: dict[Hashable, list[Params]], ops: list[Prepared]) -> None:
        for op in ops:
            by_shape.setdefault(op.key, []).append(op.params)

    def _fold(self, row: Row, ops: list[Prepared]) -> list[Prepared]:
        """The updates of one row as one (later fields win, patches merged in order),
        prepared again: its shape is that of the merged fields and patch."""
        fields: dict[str, Any] = {}
        patch: dict[str, str] = {}
        at: Any = None
        for op in ops:
            if op.fields is None or op.patch is None:
                raise InvariantViolation("only updates are folded, not %r" % (op.key,))
            at = op.at
            fields.update(op.fields)
            patch.update(op.patch)
        return self._statements._update_ops(row[0], row[1], at, fields, patch)

    def _fold_two(self, first: Prepared, then: Prepared) -> tuple[Hashable, Params] | None:
        """Two updates of one row as one, from their prepared parameters (what
        :meth:`_fold` gives, without preparing again); None when their patches share
        a key (the merged patch is then not the two side by side)."""
        first_patch, then_patch = first.patch, then.patch
        if first_patch is None or then_patch is None:
            raise InvariantViolation("only updates are folded, not %r" % (first.key,))
        if not first_patch.keys().isdisjoint(then_patch):
            return None
        join = self._joins.get((first.key, then.key))
        if join is None:
            join = self._join(first.key, then.key)
        earlier, later = first.params, then.params
        if join.merge:
            params = {**earlier, **later}
            if join.concat:  # both patches' keys, in order, in one JSON object
                params["b_patch"] = earlier["b_patch"][:-1] + "," + later["b_patch"][1:]
            return join.key, params
        params = earlier.copy()
        for name in join.copied:
            params[name] = later[name]
        for source, name in join.moved:
            params[name] = later[source]
        return join.key, params

    def _join(self, first: Any, then: Any) -> _Join:
        """How :meth:`_fold_two` merges updates of these two shapes (made once per pair)."""
        _, table, first_fields, first_patch = first
        _, _, then_fields, then_patch = then
        shape = tuple(sorted({*first_fields, *then_fields}))
        moved: tuple[tuple[str, str], ...] = ()
        if self._pg:  # one patch object, or none
            count = 1 if first_patch or then_patch else 0
        else:  # each patch key numbered: the later's come after the first's
            count = first_patch + then_patch
            moved = tuple(
                pair
                for index in range(then_patch)
                for pair in zip(
                    sql_text.patch_param_names(index),
                    sql_text.patch_param_names(first_patch + index),
                    strict=True,
                )
            )
        join = _Join(
            ("update", table, shape, count),
            not moved,
            bool(self._pg and first_patch and then_patch),
            (*("b_" + name for name in then_fields), "b_at"),
            moved,
        )
        if len(self._joins) < _MAX_JOINS:
            self._joins[(first, then)] = join
        return join

    def _rank(self, key: Hashable) -> str:
        """A stable order of update shapes (their repr, computed once per shape)."""
        rank = self._ranks.get(key)
        if rank is None:
            rank = self._ranks[key] = repr(key)
        return rank

    def execute(self, conn: Connection, groups: Iterable[list[Prepared]]) -> int:
        """Run ``groups``' ops on ``conn`` (inside the caller's transaction), planned.

        Returns the number of statements sent.
        """
        runs = self.plan(groups)
        statements = 0
        # The SQL is driver-ready text, so it goes straight to a driver cursor inside
        # the caller's transaction: SQLAlchemy's per-statement machinery costs more
        # than SQLite takes to run a small write. Listeners of SQLAlchemy's
        # before_cursor_execute event (statement counters, logs) still hear each one.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        observers = conn.dispatch.before_cursor_execute
        sql_of = self._statements.sql
        try:
            for key, params in runs:
                if isinstance(key, tuple) and key[0] == "rewrite":
                    table = sql_text.TABLES[key[1]]
                    for one in params:
                        statements += self._merge_by_rewrite(conn, cursor, table, one)
                    continue
                sql = sql_of(key)
                if len(params) > 1:
                    if observers:
                        observers(conn, cursor, sql, params, None, True)
                    cursor.executemany(sql, params)
                else:
                    if observers:
                        observers(conn, cursor, sql, params[0], None, False)
                    cursor.execute(sql, params[0])
                statements += 1
                if key == "transitions" and 0 <= cursor.rowcount < len(params):
                    statements += self._refuse_forks(conn, cursor, params)
        finally:
            cursor.close()
        return statements

    def _refuse_forks(self, conn: Connection, cursor: Any, rows: list[Params]) -> int:
        """Some trail rows were already stored (``ON CONFLICT DO NOTHING`` skipped them):
        fine if they are these very rows (a retry after an unknown commit outcome),
        a WriteFailed (:func:`~.ops.trail_conflict`) if another engine wrote different
        ones. Returns the statements sent (one per flow)."""
        by_flow: dict[str, dict[int, str]] = {}
        for row in rows:
            by_flow.setdefault(row["flow_uuid"], {})[row["seq"]] = row["hash"]
        observers = conn.dispatch.before_cursor_execute
        for flow_uuid, hashes in by_flow.items():
            select = (
                "SELECT seq, hash FROM transitions WHERE flow_uuid = %s AND seq BETWEEN %s AND %s"
                % (
                    self._p("b_flow"),
                    self._p("b_low"),
                    self._p("b_high"),
                )
            )
            bounds = {"b_flow": flow_uuid, "b_low": min(hashes), "b_high": max(hashes)}
            if observers:
                observers(conn, cursor, select, bounds, None, False)
            cursor.execute(select, bounds)
            for seq, stored in sorted(cursor.fetchall()):
                if seq in hashes and stored != hashes[seq]:
                    raise trail_conflict(flow_uuid, seq)
        return len(by_flow)

    def _p(self, name: str, column: str | None = None) -> str:
        return sql_text.placeholder(name, column, self._pg)

    def _merge_by_rewrite(self, conn: Connection, cursor: Any, table: str, params: Params) -> int:
        """Merge a patch SQLite's JSON paths cannot name: read the meta, write it back.

        On the driver cursor, inside the caller's transaction (which may have been
        begun on the driver: a SQLAlchemy execute here would try to begin another).
        """
        observers = conn.dispatch.before_cursor_execute
        select = "SELECT meta FROM %s WHERE uuid = %s" % (table, self._p("b_uuid"))
        key = {"b_uuid": params["b_uuid"]}
        if observers:
            observers(conn, cursor, select, key, None, False)
        cursor.execute(select, key)
        found = cursor.fetchone()
        if found is None or found[0] is None:
            return 1
        stored = found[0]
        merged: dict[str, Any] = json.loads(stored) if isinstance(stored, str) else dict(stored)
        merged.update({key: json.loads(text) for key, text in params["patch"].items()})
        update = "UPDATE %s SET meta = %s WHERE uuid = %s" % (
            table,
            self._p("b_meta", "meta"),
            self._p("b_uuid"),
        )
        values = {"b_meta": encoding.dumps(merged), "b_uuid": params["b_uuid"]}
        if observers:
            observers(conn, cursor, update, values, None, False)
        cursor.execute(update, values)
        return 2
