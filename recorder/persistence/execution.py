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

The plan works on the writes as queued (lists of prepared ops) without
flattening them, and builds only the runs: on the batched writer's hot path every
container made per op is paid twice, once to build and once in garbage collection.
An update comes with its checked, encoded fields and patch but no parameters: the
plan folds each row's updates first and builds the parameters of the one update
it sends (``tests/persistence/test_plan.py`` holds the plan to the plain algorithm).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from sqlalchemy.engine import Connection

from recorder.persistence import encoding, sql_text
from recorder.persistence.ops import DELETABLE, trail_conflict
from recorder.persistence.statements import Prepared, PreparedOp, PreparedUpdate, Statements

Params = dict[str, Any]
Run = tuple[Hashable, list[Params]]  # one shape, the parameters of each of its rows
Row = tuple[str, str]

# Saves of parents go before saves of children (shape key = table, by rank).
_SAVES = ("logbooks", "flow_details", "atom_details")
_SAVE_RANK = {table: rank for rank, table in enumerate(_SAVES)}
_DELETES = tuple(("delete", table) for table in DELETABLE)


class Executor:
    """Plans and runs prepared ops of one dialect on a connection (one thread at a time)."""

    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._pg = statements.dialect == "postgresql"
        self._ranks: dict[Hashable, str] = {}

    def plan(self, groups: list[list[PreparedOp]]) -> list[Run]:
        """The runs with the same effect as ``groups``' ops in order (module docstring)."""
        if len(groups) == 1 and len(groups[0]) == 2:
            update, appended_row = groups[0]
            if (
                type(update) is PreparedUpdate
                and type(appended_row) is Prepared
                and appended_row.key == "transitions"
            ):
                # One state change (its update, then its trail row): the durable
                # writer commits one per transaction, so it skips the general sort.
                planned = self._update_runs({(update.table, update.uuid): update})
                planned.append(("transitions", [appended_row.params]))
                return planned
        saves: tuple[list[Params], ...] = ([], [], [])
        deletes: tuple[list[Params], ...] = ([], [], [])
        appended: list[Params] = []
        # Each updated row's update, or every update of a row updated more than once.
        rows: dict[Row, PreparedUpdate | list[PreparedUpdate]] = {}
        for group in groups:
            for op in group:
                if isinstance(op, PreparedUpdate):
                    row = (op.table, op.uuid)
                    first = rows.setdefault(row, op)
                    if first is not op:
                        if isinstance(first, list):
                            first.append(op)
                        else:
                            rows[row] = [first, op]
                    continue
                key, params = op
                if key == "transitions":
                    appended.append(params)
                elif isinstance(key, str):
                    saves[_SAVE_RANK[key]].append(params)
                else:  # ("delete", table)
                    deletes[DELETABLE.index(key[1])].append(params)  # type: ignore[index]
        runs: list[Run] = [
            (table, found) for table, found in zip(_SAVES, saves, strict=True) if found
        ]
        runs.extend(self._update_runs(rows))
        if appended:
            runs.append(("transitions", appended))
        runs.extend((key, found) for key, found in zip(_DELETES, deletes, strict=True) if found)
        return runs

    def _update_runs(self, rows: dict[Row, PreparedUpdate | list[PreparedUpdate]]) -> list[Run]:
        """One update per row (later fields win, patches merged in order, the last
        one's time), with its parameters built, in runs by shape."""
        by_shape: dict[Hashable, list[Params]] = {}
        build = self._statements.update_statements
        for (table, uuid), found in rows.items():
            if isinstance(found, list):
                fields: dict[str, Any] = {}
                patch: dict[str, str] = {}
                for update in found:
                    fields.update(update.fields)
                    patch.update(update.patch)
                statements = build(table, uuid, found[-1].at, fields, patch)
            else:
                statements = build(table, uuid, found.at, found.fields, found.patch)
            for key, params in statements:
                run = by_shape.get(key)
                if run is None:
                    by_shape[key] = [params]
                else:
                    run.append(params)
        if len(by_shape) == 1:
            return list(by_shape.items())
        return [(key, by_shape[key]) for key in sorted(by_shape, key=self._rank)]

    def _rank(self, key: Hashable) -> str:
        """A stable order of update shapes (their repr, computed once per shape)."""
        rank = self._ranks.get(key)
        if rank is None:
            rank = self._ranks[key] = repr(key)
        return rank

    def execute(self, conn: Connection, groups: list[list[PreparedOp]], driver: Any = None) -> int:
        """Run ``groups``' ops on ``conn`` (inside the caller's transaction), planned.

        ``driver``: ``conn``'s driver connection, when the caller has it at hand (a
        transaction begun on the driver). Returns the number of statements sent.
        """
        runs = self.plan(groups)
        statements = 0
        # The SQL is driver-ready text, so it goes straight to a driver cursor inside
        # the caller's transaction: SQLAlchemy's per-statement machinery costs more
        # than SQLite takes to run a small write. Listeners of SQLAlchemy's
        # before_cursor_execute event (statement counters, logs) still hear each one.
        if driver is None:
            driver = conn.connection.driver_connection
        cursor = driver.cursor()
        observers = conn.dispatch.before_cursor_execute
        observed = bool(observers)  # (asked once: SQLAlchemy answers in Python)
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
                    if observed:
                        observers(conn, cursor, sql, params, None, True)
                    cursor.executemany(sql, params)
                else:
                    if observed:
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
