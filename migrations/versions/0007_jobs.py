"""Job board: the ``jobs`` table (claims with leases) and the append-only ``job_events``.

Revision ID: 0007_jobs
Revises: 0006_coexist
Create Date: 2026-12-01

Self-contained: flows and logbooks are referenced by uuid, with no foreign key
into their tables. The indexes serve the claim query (claimable jobs by state,
priority and age), the search for expired leases, and a flow's jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from recorder.persistence.coltypes import UTCDateTime, json_type

revision: str = "0007_jobs"
down_revision: str | Sequence[str] | None = "0006_coexist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("details", json_type(), nullable=False),
        sa.Column("book_uuid", sa.String(36), nullable=True),
        sa.Column("book_name", sa.Text(), nullable=True),
        sa.Column("flow_uuid", sa.String(36), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("claims", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_jobs")),
    )
    op.create_index(
        op.f("ix_jobs_state_priority_created_at"), "jobs", ["state", "priority", "created_at"]
    )
    op.create_index(op.f("ix_jobs_state_lease_expires_at"), "jobs", ["state", "lease_expires_at"])
    op.create_index(op.f("ix_jobs_flow_uuid"), "jobs", ["flow_uuid"])
    op.create_table(
        "job_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_uuid", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("who", sa.String(255), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("details", json_type(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_uuid"], ["jobs.uuid"], name=op.f("fk_job_events_job_uuid_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_events")),
    )
    op.create_index(op.f("ix_job_events_job_uuid_id"), "job_events", ["job_uuid", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_job_events_job_uuid_id"), table_name="job_events")
    op.drop_table("job_events")
    op.drop_index(op.f("ix_jobs_flow_uuid"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_state_lease_expires_at"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_state_priority_created_at"), table_name="jobs")
    op.drop_table("jobs")
