"""Backends for the storage contract suite (the op builders are in ``helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from recorder.persistence import connect
from recorder.persistence.memory import MemoryBackend
from recorder.persistence.sql import SQLBackend

_PG = pytest.mark.postgres
SQL_BACKENDS = [
    "sqlite-durable",
    "sqlite-batched",
    pytest.param("postgresql-durable", marks=_PG),
    pytest.param("postgresql-batched", marks=_PG),
]
ALL_BACKENDS = ["memory", *SQL_BACKENDS]


def _open(request: pytest.FixtureRequest, kind: str) -> SQLBackend:
    database, mode = kind.split("-")
    url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_url")
    return connect(url, mode=mode, flush_interval=0.005)


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Every backend the contract holds for: memory, SQLite and PostgreSQL, both modes."""
    if request.param == "memory":
        yield MemoryBackend()
        return
    sql = _open(request, request.param)
    yield sql
    sql.close()


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend(request: pytest.FixtureRequest) -> Iterator[SQLBackend]:
    """SQL backends only (SQLite and PostgreSQL, durable and batched)."""
    sql = _open(request, request.param)
    yield sql
    sql.close()
