"""The job board's tables: ``jobs`` (one row per job, its claim and lease) and
``job_events`` (append-only: who posted, claimed, lost, extended, consumed,
abandoned or trashed a job, and when).

They live on the same database as the flows they drive, so a claim and the state
it guards commit together (a worker's writes are fenced by its claim, see
:mod:`recorder.jobs`). Flows and logbooks are referenced by uuid only, no
foreign key: a job may be posted before its flow is stored, and outlives it.
``ix_jobs_state_priority_created_at`` serves the claim query (claimable jobs,
most urgent and oldest first); ``ix_jobs_state_lease_expires_at`` finds
expired leases. Importing this module adds the tables to
:data:`recorder.persistence.schema.metadata` (``migrate`` and the migrations'
``env.py`` import it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from recorder.persistence.coltypes import UTCDateTime, json_type
from recorder.persistence.schema import NAME_LEN, STATE_LEN, UUID_LEN, Base

EVENT_KIND_LEN = 16


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "state", "priority", "created_at"),
        Index(None, "state", "lease_expires_at"),
        Index(None, "flow_uuid"),
    )

    uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(json_type())
    book_uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    book_name: Mapped[str | None] = mapped_column(Text)
    flow_uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    # Higher runs first: VERY_HIGH 4 ... VERY_LOW 0 (recorder.jobs.base.JobPriority).
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(STATE_LEN))
    owner: Mapped[str | None] = mapped_column(String(NAME_LEN))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Also the fencing token: each claim increments it, so (uuid, claims) names one claim.
    claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobEventRow(Base):
    __tablename__ = "job_events"
    __table_args__ = (Index(None, "job_uuid", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    job_uuid: Mapped[str] = mapped_column(ForeignKey("jobs.uuid"))
    kind: Mapped[str] = mapped_column(String(EVENT_KIND_LEN))
    who: Mapped[str | None] = mapped_column(String(NAME_LEN))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    claims: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(json_type())


jobs = cast(Table, JobRow.__table__)
job_events = cast(Table, JobEventRow.__table__)
