"""Which tables a reading command reads: recorder's, or TaskFlow's own (``flowdetails``).

``--source taskflow`` reads TaskFlow's tables; ``auto`` (the default) reads
recorder's, and TaskFlow's when the database has TaskFlow's tables but no
recorder schema (a TaskFlow database given as it is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from recorder.cli.common import reading
from recorder.cli.options import database_url
from recorder.exceptions import SchemaMismatch, StorageError
from recorder.persistence import urls

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

F = TypeVar("F", bound=Callable[..., Any])

TASKFLOW = "taskflow"
TABLE_SOURCES = ("auto", "recorder", TASKFLOW)

tables_option: Callable[[F], F] = click.option(
    "--source",
    type=click.Choice(TABLE_SOURCES),
    default="auto",
    show_default=True,
    help="Read recorder's tables, TaskFlow's (flowdetails, atomdetails), or whichever is there.",
)
"""``--source auto|recorder|taskflow`` for ``flows`` and ``stats``."""


@contextmanager
def reading_tables(ctx: click.Context, source: str) -> Iterator[tuple[Connection, bool]]:
    """A connection and whether it is TaskFlow's tables that are to be read."""
    if source != TASKFLOW:
        try:
            with reading(ctx) as conn:
                yield conn, False
            return
        except SchemaMismatch as exc:
            if source not in ("auto", "transitions", "meta") or exc.current is not None:
                raise
            if not _has_taskflow(database_url(ctx)):
                raise
    with _taskflow_reading(database_url(ctx)) as conn:
        yield conn, True


def _has_taskflow(url: str) -> bool:
    from sqlalchemy.exc import DBAPIError

    from recorder.persistence import db
    from recorder.persistence.coexist import has_taskflow_tables

    if db.sqlite_file_missing(url):
        return False
    engine = db.create_db_engine(url)
    try:
        with engine.connect() as conn:
            return has_taskflow_tables(conn)
    except DBAPIError:
        return False
    finally:
        engine.dispose()


@contextmanager
def _taskflow_reading(url: str) -> Iterator[Connection]:
    from sqlalchemy.exc import DBAPIError

    from recorder.persistence import db
    from recorder.persistence.coexist import TASKFLOW_TABLES, has_taskflow_tables

    shown = urls.redact(url)
    if db.sqlite_file_missing(url):
        raise StorageError("database at %s does not exist" % shown)
    engine = db.create_db_engine(url)
    try:
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise db.unavailable(url, exc) from exc
        with conn:
            if not has_taskflow_tables(conn):
                raise StorageError(
                    "database at %s has no TaskFlow tables (%s): drop --source taskflow"
                    % (shown, ", ".join(TASKFLOW_TABLES))
                )
            yield conn
    except DBAPIError as exc:
        raise StorageError("reading from %s failed: %s" % (shown, db.describe(exc))) from exc
    finally:
        engine.dispose()
