"""TaskFlow's connection-API mixin (``persistence/base.py``, copied at run time) on recorder.

The same mixin runs on ``memory://``, a SQLite file and PostgreSQL; each backend
is fetched the TaskFlow way, ``backends.fetch({"connection": url})``. recorder
is imported inside the tests so that a missing API fails each test (listed in
expected_failures.txt) instead of the whole module.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from tfcompat.helpers import test
from tfcompat.unit.persistence import base


class _Backend(base.PersistenceTestMixin):  # type: ignore[misc]
    url = "memory://"

    def setUp(self) -> None:
        super().setUp()
        from recorder.persistence import backends

        self._backend: Any = backends.fetch({"connection": self.url})
        with contextlib.closing(self._get_connection()) as conn:
            conn.upgrade()

    def tearDown(self) -> None:
        backend = getattr(self, "_backend", None)
        if backend is not None:
            with contextlib.closing(self._get_connection()) as conn:
                conn.clear_all()
            backend.close()
        super().tearDown()

    def _get_connection(self) -> Any:
        return self._backend.get_connection()


class MemoryConnectionTest(_Backend, test.TestCase):  # type: ignore[misc]
    url = "memory://"


class SqliteConnectionTest(_Backend, test.TestCase):  # type: ignore[misc]
    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url: str) -> None:
        self.url = sqlite_url


@pytest.mark.postgres
class PostgresConnectionTest(_Backend, test.TestCase):  # type: ignore[misc]
    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.url = pg_url
