"""The SQL tables (SQLAlchemy 2.x typed ORM), the single source of the schema.

Migrations (``migrations/versions``) create exactly this; ``recorder db check``
compares the two so they cannot drift apart. The write path uses these tables
through SQLAlchemy Core (one statement per op), never through an ORM session.

``transitions`` is the append-only audit trail: one row per state change, ``seq``
gap-free per flow and ``attempt`` per atom, each row hash-chained to the previous
row of its flow. Indexes cover the queries the query layer runs: flows by name
and time or by state, a flow's atoms and transitions in order, an atom's
transitions in order, and transitions of one name over time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from recorder.persistence.coltypes import UTCDateTime, json_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LEN = 36
NAME_LEN = 255
STATE_LEN = 32


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LogbookRow(Base):
    # Not "logbooks": TaskFlow's SQL backend has that table (migration 0006_coexist).
    __tablename__ = "recorder_logbooks"

    uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FlowRow(Base):
    __tablename__ = "flow_details"
    __table_args__ = (
        Index(None, "name", "created_at"),
        Index(None, "state"),
        Index(None, "created_at", "uuid"),  # newest-first paging of all flows (0004)
    )

    uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    logbook_uuid: Mapped[str] = mapped_column(ForeignKey("recorder_logbooks.uuid"), index=True)
    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(String(STATE_LEN))
    meta: Mapped[dict[str, Any]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AtomRow(Base):
    __tablename__ = "atom_details"
    __table_args__ = (UniqueConstraint("flow_uuid", "name"),)

    uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    # uq(flow_uuid, name) is also the index for "atoms of this flow".
    flow_uuid: Mapped[str] = mapped_column(ForeignKey("flow_details.uuid"))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(STATE_LEN))
    intention: Mapped[str] = mapped_column(String(STATE_LEN))
    version: Mapped[str | None] = mapped_column(Text)
    results: Mapped[Any | None] = mapped_column(json_type())
    failure: Mapped[Any | None] = mapped_column(json_type())
    revert_results: Mapped[Any | None] = mapped_column(json_type())
    revert_failure: Mapped[Any | None] = mapped_column(json_type())
    meta: Mapped[dict[str, Any]] = mapped_column(json_type())
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TransitionRow(Base):
    __tablename__ = "transitions"
    __table_args__ = (
        UniqueConstraint("flow_uuid", "seq"),
        Index(None, "name", "at"),
        Index(None, "atom_uuid", "seq"),
    )

    # BIGINT on PostgreSQL; INTEGER on SQLite so the column is the rowid alias.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # No separate flow_uuid index: uq(flow_uuid, seq) serves flow lookups, and one
    # index less is one write less per transition.
    flow_uuid: Mapped[str] = mapped_column(ForeignKey("flow_details.uuid"))
    atom_uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    old_state: Mapped[str | None] = mapped_column(String(STATE_LEN))
    new_state: Mapped[str] = mapped_column(String(STATE_LEN))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(json_type())
    prev_hash: Mapped[str] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(128))


metadata = Base.metadata
logbooks = cast(Table, LogbookRow.__table__)
flow_details = cast(Table, FlowRow.__table__)
atom_details = cast(Table, AtomRow.__table__)
transitions = cast(Table, TransitionRow.__table__)

TRANSITION_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in transitions.columns if not column.primary_key
)
"""The columns of ``transitions`` a recorder writes (all but ``id``), in table order:
the insert's columns and the read mapper's. :class:`~recorder.persistence.rows.
TransitionFields` has exactly these fields (a test holds them together)."""
