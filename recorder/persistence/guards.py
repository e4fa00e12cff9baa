"""PostgreSQL: is the append-only guard on ``transitions`` still in force? (``db check``)

Migration 0003 makes ``transitions`` reject UPDATE, DELETE (a row trigger) and
TRUNCATE (a statement trigger), both calling a function that raises. Table
comparison cannot see a trigger dropped, disabled, left to fire only for
replication, or a function replaced by one that lets the change through; this
module looks at the catalog for each. What it cannot see is a single session
that ran ``SET session_replication_role = replica``: that leaves no trace, which
is why ``recorder verify`` checks the trail itself.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

FUNCTION = "recorder_transitions_append_only"

# pg_trigger.tgtype bits: ROW 1, BEFORE 2, DELETE 8, UPDATE 16, TRUNCATE 32.
TRIGGERS = {
    "transitions_append_only": (1 | 2 | 8 | 16, "it rejects UPDATE and DELETE"),
    "transitions_no_truncate": (2 | 32, "it rejects TRUNCATE"),
}

_CATALOG = text(
    """
    SELECT t.tgname, t.tgenabled, t.tgtype, p.proname
    FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE c.oid = to_regclass('transitions') AND NOT t.tgisinternal
    """
)
_FUNCTION_SOURCE = text(
    "SELECT p.prosrc FROM pg_proc p WHERE p.proname = :name AND p.pronamespace = "
    "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
)


def append_only_problems(conn: Connection) -> list[str]:
    """One line per way the guard is not in force (empty: it is; always empty on SQLite)."""
    if conn.dialect.name != "postgresql":
        return []
    found = {row.tgname: row for row in conn.execute(_CATALOG)}
    problems: list[str] = []
    for name, (bits, purpose) in TRIGGERS.items():
        row = found.get(name)
        if row is None:
            problems.append("trigger %s on transitions is missing (%s)" % (name, purpose))
        elif row.tgenabled == "D":
            problems.append("trigger %s on transitions is disabled (%s)" % (name, purpose))
        elif row.tgenabled == "R":
            problems.append(
                "trigger %s on transitions fires only in replica mode (%s)" % (name, purpose)
            )
        elif int(row.tgtype) & bits != bits or row.proname != FUNCTION:
            problems.append(
                "trigger %s on transitions was redefined: it must fire BEFORE %s and call "
                "%s()" % (name, purpose.removeprefix("it rejects "), FUNCTION)
            )
    source = conn.execute(_FUNCTION_SOURCE, {"name": FUNCTION}).scalar()
    if source is None:
        problems.append("function %s() is missing" % FUNCTION)
    elif "raise exception" not in " ".join(str(source).lower().split()):
        problems.append("function %s() no longer raises: it was replaced" % FUNCTION)
    role = conn.execute(text("SHOW session_replication_role")).scalar()
    if role == "replica":
        problems.append(
            "session_replication_role defaults to replica for this database or role: "
            "ordinary triggers, the append-only ones too, do not fire"
        )
    return problems
