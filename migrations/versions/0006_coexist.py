"""recorder beside TaskFlow in one database: its logbook table is recorder_logbooks.

Revision ID: 0006_coexist
Revises: 0005
Create Date: 2026-12-01

TaskFlow's SQL backend has a ``logbooks`` table too, and both used alembic's
default ``alembic_version``. recorder's version table is now
``recorder_alembic_version`` (``recorder.persistence.migrate`` moves a
pre-0006 database's revision there in the same transaction, before this runs)
and this renames its ``logbooks`` to ``recorder_logbooks``, rows, foreign key
and views untouched (PostgreSQL and SQLite move the references with the table;
on PostgreSQL the primary and foreign key constraints are renamed to match the
naming convention). A database created next to TaskFlow's tables already has
``recorder_logbooks`` from 0001: nothing to do. The downgrade renames it back,
unless another application's ``logbooks`` is there.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recorder.persistence.coexist import LEGACY_LOGBOOKS, LOGBOOKS, refuse_legacy_logbooks

revision: str = "0006_coexist"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_flow_details_logbook_uuid_%s"


def _rename(old: str, new: str) -> None:
    op.rename_table(old, new)
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE %s RENAME CONSTRAINT pk_%s TO pk_%s" % (new, old, new))
        op.execute(
            "ALTER TABLE flow_details RENAME CONSTRAINT %s TO %s" % (_FK % old, _FK % new)
        )


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table(LOGBOOKS):
        _rename(LEGACY_LOGBOOKS, LOGBOOKS)


def downgrade() -> None:
    refuse_legacy_logbooks(op.get_bind())
    _rename(LOGBOOKS, LEGACY_LOGBOOKS)
