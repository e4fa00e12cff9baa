"""SQLite: JSON columns declared TEXT, so stored numbers stay exactly as written.

Revision ID: 0005
Revises: 0004
Create Date: 2024-12-01

0001 declared SQLite's JSON columns ``JSON``, which gives them NUMERIC affinity:
SQLite turns JSON text that looks like a number into a number, so a result
``2.0`` read back as ``2``, ``2**63`` as ``9.223372036854776e+18`` and ``10**30``
as ``1e+30``. A ``TEXT`` column keeps the text. SQLite cannot change a column's
type in place, so each table with JSON columns is rebuilt (alembic batch mode;
indexes and constraints are recreated). The views over those tables are
dropped first and recreated from their stored text afterwards.

Cells that NUMERIC affinity already turned into numbers cannot get their
original text back; they are rewritten as the JSON of the number they hold, so
they read back exactly as they did before this migration (copying them as
plain text would round REALs to 15 digits). PostgreSQL stores jsonb and is not
touched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from alembic import op
from sqlalchemy import text
from sqlalchemy.engine import Connection

from recorder.persistence.coexist import logbooks_table
from recorder.persistence.coltypes import json_type, json_type_0001

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (primary key, {JSON column: nullable}); "logbooks" is recorder's logbook
# table under the name it has in the database (recorder_logbooks beside TaskFlow's).
JSON_COLUMNS: dict[str, tuple[str, dict[str, bool]]] = {
    "logbooks": ("uuid", {"meta": False}),
    "flow_details": ("uuid", {"meta": False}),
    "atom_details": (
        "uuid",
        {
            "results": True,
            "failure": True,
            "revert_results": True,
            "revert_failure": True,
            "meta": False,
        },
    ),
    "transitions": ("id", {"details": False}),
}


def _number_as_json(value: int | float) -> str:
    """JSON text that recorder reads back as ``value`` (tagged when jsonb-unsafe)."""
    if isinstance(value, int) or (
        math.isfinite(value) and abs(value) < 1e16 and math.copysign(1.0, value) > 0
    ):
        return json.dumps(value)
    return json.dumps({"__recorder__": "float", "value": repr(float(value))})


def _json_columns(conn: Connection) -> dict[str, tuple[str, dict[str, bool]]]:
    logbooks = logbooks_table(conn)
    return {(logbooks if table == "logbooks" else table): v for table, v in JSON_COLUMNS.items()}


def _views(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY rowid")
    )
    return [(str(name), str(sql)) for name, sql in rows]


def _numeric_cells(conn: Connection) -> list[tuple[str, str, str, Any, Any]]:
    """(table, pk column, column, pk, number) of every JSON cell stored as a number."""
    cells = []
    for table, (pk, columns) in _json_columns(conn).items():
        for column in columns:
            rows = conn.execute(
                text(
                    "SELECT %s, %s FROM %s WHERE typeof(%s) IN ('integer', 'real')"
                    % (pk, column, table, column)
                )
            )
            cells.extend((table, pk, column, key, value) for key, value in rows)
    return cells


def _retype(new: Any, old: Any) -> None:
    conn = op.get_bind()
    views = _views(conn)
    for name, _ in reversed(views):
        op.execute("DROP VIEW %s" % name)
    cells = _numeric_cells(conn)
    for table, (_, columns) in _json_columns(conn).items():
        with op.batch_alter_table(table, recreate="always") as batch:
            for column, nullable in columns.items():
                batch.alter_column(
                    column, type_=new(), existing_type=old(), existing_nullable=nullable
                )
    for table, pk, column, key, value in cells:
        conn.execute(
            text("UPDATE %s SET %s = :value WHERE %s = :key" % (table, column, pk)),
            {"value": _number_as_json(value), "key": key},
        )
    for _, sql in views:
        op.execute(sql)


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _retype(json_type, json_type_0001)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _retype(json_type_0001, json_type)
