"""The web app's one way to the database: read-only connections, errors as RecorderError.

Every request borrows a pooled connection and gives it back. SQLite connections
are switched to ``query_only`` and PostgreSQL sessions to read-only
transactions, so a bug in a page cannot write: the server is a viewer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from recorder.exceptions import StorageError
from recorder.persistence import connect, db, urls
from recorder.persistence.sql import SQLBackend


class Reader:
    """Opens the database once (the schema is checked then) and lends connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = urls.redact(url)
        self._backend: SQLBackend = connect(url)
        engine = self._backend.engine
        statement = (
            "PRAGMA query_only = ON"
            if engine.dialect.name == "sqlite"
            else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
        )

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            try:
                cursor.execute(statement)
            finally:
                cursor.close()
            if engine.dialect.name == "postgresql":
                dbapi_connection.commit()  # type: ignore[attr-defined]

        # Connections opened before the listener (the schema probe) are not read-only.
        engine.dispose()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        try:
            with self._backend.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StorageError(
                "reading from %s failed: %s" % (self.shown, db.describe(exc))
            ) from exc

    def close(self) -> None:
        self._backend.close()
