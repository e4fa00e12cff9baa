"""PostgreSQL: make transitions append-only (reject UPDATE, DELETE and TRUNCATE).

Revision ID: 0003
Revises: 0002
Create Date: 2024-11-26

The transitions table is the audit trail; recorder only ever INSERTs into it.
On PostgreSQL a trigger rejects any UPDATE, DELETE or TRUNCATE with a clear
message, so neither a bug nor a hand-written query can rewrite history. SQLite
is embedded and single-owner: this migration does nothing there.

Retention (dropping old flows) will get a deliberate way around this later,
e.g. a function that disables the trigger inside its own transaction
(``ALTER TABLE transitions DISABLE TRIGGER ...`` needs table ownership) and
records that it ran.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION recorder_transitions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transitions is append-only (recorder audit trail): % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'recorder only inserts transitions; retention has its own procedure';
END;
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER transitions_append_only BEFORE UPDATE OR DELETE ON transitions "
        "FOR EACH ROW EXECUTE FUNCTION recorder_transitions_append_only()"
    )
    op.execute(
        "CREATE TRIGGER transitions_no_truncate BEFORE TRUNCATE ON transitions "
        "FOR EACH STATEMENT EXECUTE FUNCTION recorder_transitions_append_only()"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS transitions_no_truncate ON transitions")
    op.execute("DROP TRIGGER IF EXISTS transitions_append_only ON transitions")
    op.execute("DROP FUNCTION IF EXISTS recorder_transitions_append_only()")
