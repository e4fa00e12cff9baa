"""Persistence: plain records, write ops, and the backends that store them.

``connect(url, mode=...)`` opens the SQL backend (SQLite or PostgreSQL); it is
imported lazily so that engines running on the in-memory backend never load
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recorder.persistence.sql import SQLBackend, connect

__all__ = ["SQLBackend", "connect"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from recorder.persistence import sql

        return getattr(sql, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
