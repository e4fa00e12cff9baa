"""Running prepared ops in the writer's thread: planned, then one ``executemany`` per shape.

Ops committed together in one transaction are planned first
(:meth:`Executor.plan`: updates of one row folded, same shapes grouped) and each
run of one shape is one ``executemany`` on a driver cursor; what each statement
does is documented with :mod:`~recorder.persistence.statements`, which prepares
the ops in the caller's thread.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from sqlalchemy.engine import Connection

from recorder.persistence import encoding, sql_text
from recorder.persistence.ops import DELETABLE
from recorder.persistence.statements import Prepared, Statements

# Saves of parents go before saves of children when a batch is reordered.
_SAVE_RANK = {"logbooks": 0, "flow_details": 1, "atom_details": 2}


class Executor:
    """Plans and runs prepared ops of one dialect on a connection (one thread at a time)."""

    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._pg = statements.dialect == "postgresql"
        self._ranks: dict[Hashable, str] = {}

    def plan(self, ops: list[Prepared]) -> list[Prepared]:
        """The same effect as ``ops`` in order, in fewer statements.

        Only for ops committed together in one transaction, where order inside
        is invisible to readers: saves first (parents before children, each
        table in written order), then one folded update per row (later fields
        win, meta patches applied in order -- the same as applying them one
        by one), grouped by shape, then all transitions (they only need their
        flow row, saved before).
        """
        if len(ops) < 2:
            return ops
        saves: list[list[Prepared]] = [[], [], []]
        rows: dict[tuple[str, str], tuple[Any, dict[str, Any], dict[str, Any]]] = {}
        # Rows updated once here: their update is already in final form and is used
        # as it is (unless its patch needs a rewrite, rebuilt with it below).
        once: dict[tuple[str, str], Prepared] = {}
        appended: list[Prepared] = []
        deletes: list[list[Prepared]] = [[], [], []]
        for op in ops:
            if op.key == "transitions":
                appended.append(op)
            elif isinstance(op.key, tuple) and op.key[0] == "delete":
                deletes[DELETABLE.index(op.key[1])].append(op)
            elif isinstance(op.key, str):
                saves[_SAVE_RANK[op.key]].append(op)
            elif op.change is not None and op.row is not None:
                at, fields, patch = op.change
                folded = rows.get(op.row)
                if folded is None:
                    rows[op.row] = (at, fields, patch)
                    once[op.row] = op
                else:
                    if once.pop(op.row, None) is not None:  # now folded: copy before merging
                        folded = (folded[0], dict(folded[1]), dict(folded[2]))
                    folded[1].update(fields)
                    folded[2].update(patch)
                    rows[op.row] = (at, folded[1], folded[2])
            # "rewrite" ops are rebuilt from their update's patch below
        updates: list[Prepared] = []
        for row, (at, fields, patch) in rows.items():
            single = once.get(row)
            if single is not None and (self._pg or not any('"' in key for key in patch)):
                updates.append(single)
            else:
                updates.extend(self._statements._update_ops(row[0], row[1], at, fields, patch))
        updates.sort(key=self._rank)
        return [
            *saves[0],
            *saves[1],
            *saves[2],
            *updates,
            *appended,
            *[d for r in deletes for d in r],
        ]

    def _rank(self, op: Prepared) -> str:
        """A stable order of update shapes (their repr, computed once per shape)."""
        rank = self._ranks.get(op.key)
        if rank is None:
            rank = self._ranks[op.key] = repr(op.key)
        return rank

    def execute(self, conn: Connection, ops: list[Prepared]) -> int:
        """Run ``ops`` in order on ``conn`` (inside the caller's transaction).

        Returns the number of statements sent.
        """
        ops = self.plan(ops)
        statements = 0
        start = 0
        # The SQL is driver-ready text, so it goes straight to a driver cursor inside
        # the caller's transaction: SQLAlchemy's per-statement machinery costs more
        # than SQLite takes to run a small write. Listeners of SQLAlchemy's
        # before_cursor_execute event (statement counters, logs) still hear each one.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        observers = conn.dispatch.before_cursor_execute
        try:
            while start < len(ops):
                key = ops[start].key
                end = start + 1
                while end < len(ops) and ops[end].key == key:
                    end += 1
                if isinstance(key, tuple) and key[0] == "rewrite":
                    for op in ops[start:end]:
                        statements += self._merge_by_rewrite(
                            conn, cursor, sql_text.TABLES[key[1]], op.params
                        )
                    start = end
                    continue
                sql = self._statements.sql(key)
                many = end - start > 1
                params: Any = [op.params for op in ops[start:end]] if many else ops[start].params
                if observers:
                    observers(conn, cursor, sql, params, None, many)
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
                statements += 1
                start = end
        finally:
            cursor.close()
        return statements

    def _p(self, name: str, column: str | None = None) -> str:
        return sql_text.placeholder(name, column, self._pg)

    def _merge_by_rewrite(
        self, conn: Connection, cursor: Any, table: str, params: dict[str, Any]
    ) -> int:
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
