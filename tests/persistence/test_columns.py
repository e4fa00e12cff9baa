"""The transitions columns are spelled once (the schema); every other list derives from it."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from recorder.audit import HASHED_FIELDS
from recorder.persistence import rows, schema, statements, trail_sql
from recorder.persistence.ops import AppendTransition

SCHEMA_COLUMNS = tuple(column.name for column in schema.transitions.columns)
PACKAGE = Path(rows.__file__).resolve().parents[1]


def test_the_written_columns_are_the_schemas_but_id() -> None:
    assert SCHEMA_COLUMNS[0] == "id"
    assert SCHEMA_COLUMNS[1:] == schema.TRANSITION_COLUMNS
    assert rows.FIELD_NAMES == schema.TRANSITION_COLUMNS


def test_the_write_and_read_types_have_those_fields() -> None:
    assert tuple(f.name for f in dataclasses.fields(AppendTransition)) == rows.FIELD_NAMES
    read = tuple(f.name for f in dataclasses.fields(rows.TransitionRow))
    assert read == (*rows.FIELD_NAMES, "id")


def test_the_hashed_fields_are_the_schema_columns_but_id_and_hash() -> None:
    assert set(HASHED_FIELDS) == set(SCHEMA_COLUMNS) - {"id", "hash"}
    assert len(HASHED_FIELDS) == len(set(HASHED_FIELDS))


def test_the_insert_and_the_read_name_the_schema_columns() -> None:
    insert = statements.Statements("sqlite").sql("transitions")
    assert insert.startswith("INSERT INTO transitions (%s)" % ", ".join(schema.TRANSITION_COLUMNS))
    select = trail_sql.trail_select("sqlite", "f")
    assert tuple(c.name for c in select.selected_columns) == (*schema.TRANSITION_COLUMNS, "id")


def _column_lists(tree: ast.AST) -> list[int]:
    """Lines of tuple/list/set literals naming four or more transitions columns."""
    names = set(SCHEMA_COLUMNS) - {"id", "name", "kind"}  # common words elsewhere
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            strings = {
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
            if len(strings & names) >= 4:
                found.append(node.lineno)
    return found


def test_no_module_spells_the_column_list_again() -> None:
    spelled = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = _column_lists(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            spelled[str(path.relative_to(PACKAGE))] = lines
    assert spelled == {}
