"""Hand-written SQL the way an operator with database access could forge a trail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from recorder.persistence.urls import normalize


@contextmanager
def sql(url: str, bypass: str = "replica") -> Iterator[Connection]:
    """One transaction of hand-written SQL; on PostgreSQL past the append-only trigger
    (``replica``: session_replication_role, ``disable``: ALTER TABLE ... DISABLE
    TRIGGER, ``drop``: DROP TRIGGER) -- all in this test's own database."""
    engine = create_engine(normalize(url))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                if bypass == "replica":
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                elif bypass == "disable":
                    conn.execute(text("ALTER TABLE transitions DISABLE TRIGGER USER"))
                else:
                    conn.execute(text("DROP TRIGGER transitions_append_only ON transitions"))
                    conn.execute(text("DROP TRIGGER transitions_no_truncate ON transitions"))
            yield conn
    finally:
        engine.dispose()
