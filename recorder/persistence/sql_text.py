"""The SQL text of each statement shape the write path sends, for SQLite or PostgreSQL.

Plain text with driver placeholders (``:name`` on SQLite, ``%(name)s`` on
PostgreSQL, JSON columns cast to jsonb there), built once per shape by
:class:`~recorder.persistence.statements.Statements`, which documents what each
statement does.
"""

from __future__ import annotations

from collections.abc import Hashable

from recorder.exceptions import InvariantViolation
from recorder.persistence.schema import TRANSITION_COLUMNS, logbooks

JSON_FIELDS = frozenset({"results", "failure", "revert_results", "revert_failure"})
TABLES = {"flow": "flow_details", "atom": "atom_details"}
# The ops' table names (TaskFlow's words) -> the tables' names in recorder's schema.
TABLE_NAMES = {"logbooks": logbooks.name}

# Columns each insert names, in order; JSON columns are cast on PostgreSQL.
INSERTS: dict[str, tuple[tuple[str, ...], str]] = {
    "logbooks": (("uuid", "name", "meta", "created_at"), "uuid"),
    "flow_details": (
        ("uuid", "logbook_uuid", "name", "state", "meta", "created_at"),
        "uuid",
    ),
    "atom_details": (
        (
            "uuid",
            "flow_uuid",
            "name",
            "kind",
            "state",
            "intention",
            "version",
            "meta",
            "created_at",
        ),
        "uuid",
    ),
    "transitions": (
        TRANSITION_COLUMNS,
        "flow_uuid, seq",
    ),
}
JSON_COLUMNS = frozenset({"meta", "details"}) | JSON_FIELDS


def placeholder(name: str, column: str | None, pg: bool) -> str:
    """A placeholder; JSON columns get a cast to jsonb on PostgreSQL."""
    if not pg:
        return ":" + name
    if column in JSON_COLUMNS:
        return "CAST(%%(%s)s AS jsonb)" % name
    return "%%(%s)s" % name


def patch_param_names(index: int) -> tuple[str, str]:
    """The parameter names of a SQLite meta merge's ``index``-th JSON path and value
    (the statement below, the prepared update and the writer's fold all use them)."""
    return "b_p%d" % index, "b_v%d" % index


def build(key: Hashable, pg: bool) -> str:
    """The statement for a shape key (an insert's table, ``("delete", table)`` or
    ``("update", table, fields, patch)``)."""

    def p(name: str, column: str | None = None) -> str:
        return placeholder(name, column, pg)

    if isinstance(key, str):
        columns, conflict = INSERTS[key]
        return "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO NOTHING" % (
            TABLE_NAMES.get(key, key),
            ", ".join(columns),
            ", ".join(p(column, column) for column in columns),
            conflict,
        )
    if isinstance(key, tuple) and key[0] == "delete":
        return "DELETE FROM %s WHERE uuid = %s" % (TABLE_NAMES.get(key[1], key[1]), p("b_uuid"))
    if not (isinstance(key, tuple) and key[0] == "update"):
        raise InvariantViolation("no statement is built for the key %r" % (key,))
    _, table_key, fields, patch = key
    sets = ["updated_at = %s" % p("b_at")]
    sets.extend("%s = %s" % (field, p("b_" + field, field)) for field in fields)
    if patch and pg:
        sets.append("meta = meta || %s" % p("b_patch", "meta"))
    elif patch:
        pairs = ", ".join(
            "%s, json(%s)" % tuple(map(p, patch_param_names(i))) for i in range(patch)
        )
        sets.append("meta = json_set(meta, %s)" % pairs)
    return "UPDATE %s SET %s WHERE uuid = %s" % (TABLES[table_key], ", ".join(sets), p("b_uuid"))
