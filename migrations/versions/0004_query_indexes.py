"""Index flow_details by (created_at, uuid) for ``recorder flows``, newest first.

Revision ID: 0004
Revises: 0003
Create Date: 2024-11-26

The flow list is keyset-paginated on ``ORDER BY created_at DESC, uuid DESC``
(the uuid breaks ties). Without this index both databases read and sort every
flow for each page; with it they walk the index backwards and stop after one
page (bench/bench_queries.py prints the plans).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_flow_details_created_at_uuid"), "flow_details", ["created_at", "uuid"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flow_details_created_at_uuid"), table_name="flow_details")
