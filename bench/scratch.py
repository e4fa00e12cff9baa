"""A throw-away PostgreSQL database for one bench run (shared by the bench scripts).

The server is ``$RECORDER_BENCH_PG`` (default: the local one, user postgres).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

from recorder.persistence import migrate

PG_ADMIN = os.environ.get("RECORDER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def scratch_pg(migrated: bool = True) -> Iterator[str | None]:
    """A fresh database URL, migrated unless told not to; None when no server answers."""
    try:
        import psycopg
    except ImportError:
        yield None
        return
    admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    name = "recorder_bench_%s" % uuid.uuid4().hex[:8]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute('CREATE DATABASE "%s"' % name)
    except psycopg.OperationalError:
        yield None
        return
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
