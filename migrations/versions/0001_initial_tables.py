"""Create logbooks, flow_details, atom_details and the transitions audit trail.

Revision ID: 0001
Revises:
Create Date: 2024-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recorder.persistence.coexist import LEGACY_LOGBOOKS, LOGBOOKS, logbooks_table
from recorder.persistence.coltypes import UTCDateTime
from recorder.persistence.coltypes import json_type_0001 as json_type

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Beside another application's logbooks (TaskFlow's), recorder's gets the name
    # 0006_coexist gives it anyway.
    exists = sa.inspect(op.get_bind()).has_table(LEGACY_LOGBOOKS)
    logbooks = LOGBOOKS if exists else LEGACY_LOGBOOKS
    op.create_table(
        logbooks,
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("meta", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_%s" % logbooks)),
    )
    op.create_table(
        "flow_details",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("logbook_uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=True),
        sa.Column("meta", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["logbook_uuid"],
            ["%s.uuid" % logbooks],
            name=op.f("fk_flow_details_logbook_uuid_%s" % logbooks),
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_flow_details")),
    )
    op.create_index(op.f("ix_flow_details_logbook_uuid"), "flow_details", ["logbook_uuid"])
    op.create_index(op.f("ix_flow_details_name_created_at"), "flow_details", ["name", "created_at"])
    op.create_index(op.f("ix_flow_details_state"), "flow_details", ["state"])
    op.create_table(
        "atom_details",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("flow_uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=True),
        sa.Column("intention", sa.String(32), nullable=False),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("results", json_type(), nullable=True),
        sa.Column("failure", json_type(), nullable=True),
        sa.Column("revert_results", json_type(), nullable=True),
        sa.Column("revert_failure", json_type(), nullable=True),
        sa.Column("meta", json_type(), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flow_uuid"],
            ["flow_details.uuid"],
            name=op.f("fk_atom_details_flow_uuid_flow_details"),
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_atom_details")),
        sa.UniqueConstraint("flow_uuid", "name", name=op.f("uq_atom_details_flow_uuid_name")),
    )
    op.create_table(
        "transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("flow_uuid", sa.String(36), nullable=False),
        sa.Column("atom_uuid", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("old_state", sa.String(32), nullable=True),
        sa.Column("new_state", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("details", json_type(), nullable=False),
        sa.Column("prev_hash", sa.String(128), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_uuid"],
            ["flow_details.uuid"],
            name=op.f("fk_transitions_flow_uuid_flow_details"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
        sa.UniqueConstraint("flow_uuid", "seq", name=op.f("uq_transitions_flow_uuid_seq")),
    )
    op.create_index(op.f("ix_transitions_atom_uuid_seq"), "transitions", ["atom_uuid", "seq"])
    op.create_index(op.f("ix_transitions_name_at"), "transitions", ["name", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_transitions_name_at"), table_name="transitions")
    op.drop_index(op.f("ix_transitions_atom_uuid_seq"), table_name="transitions")
    op.drop_table("transitions")
    op.drop_table("atom_details")
    op.drop_index(op.f("ix_flow_details_state"), table_name="flow_details")
    op.drop_index(op.f("ix_flow_details_name_created_at"), table_name="flow_details")
    op.drop_index(op.f("ix_flow_details_logbook_uuid"), table_name="flow_details")
    op.drop_table("flow_details")
    op.drop_table(logbooks_table(op.get_bind()))
