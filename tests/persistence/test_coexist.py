"""recorder's schema and TaskFlow's in one database (SQLite and PostgreSQL), each
migrating on its own; 0006_coexist upgrading databases made before it in place."""

from __future__ import annotations

import contextlib
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from recorder.audit import verify_flow
from recorder.cli import main
from recorder.persistence import connect, migrate, urls

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEAD = migrate.head_revision()  # 0006_coexist, then the job tables

with warnings.catch_warnings():  # oslo_utils.eventletutils warns on import (TaskFlow's)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from taskflow import engines, task
    from taskflow.patterns import linear_flow
    from taskflow.persistence import backends, models


def _sql(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(urls.normalize(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(urls.normalize(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _taskflow_upgrade(url: str) -> Any:
    backend = backends.fetch({"connection": url})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    return backend


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


class Hello(task.Task):  # type: ignore[misc]
    def execute(self) -> str:
        return "hello"


def test_an_old_sqlite_file_upgrades_in_place_then_takes_taskflow_beside_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / "recorder-0.1-0004.db", path)
    url = "sqlite:///%s" % path
    books = _sql(url, "SELECT uuid, name, meta, created_at FROM logbooks ORDER BY uuid")
    flows = _sql(url, "SELECT uuid, logbook_uuid FROM flow_details ORDER BY uuid")
    assert books and flows
    assert migrate.upgrade(url) == ("0004", HEAD)
    assert "logbooks" not in _tables(url) and "alembic_version" not in _tables(url)
    after = "SELECT uuid, name, meta, created_at FROM recorder_logbooks ORDER BY uuid"
    assert _sql(url, after) == books
    assert _sql(url, "SELECT uuid, logbook_uuid FROM flow_details ORDER BY uuid") == flows
    assert _sql(url, "SELECT version_num FROM recorder_alembic_version") == [(HEAD,)]
    assert migrate.check(url) == []
    assert _cli("--db", url, "verify").output.startswith("ok: 2 flow(s), 58 transition rows")

    backend = _taskflow_upgrade(url)  # TaskFlow's migrations now run on the same file
    book = models.LogBook("theirs")
    with contextlib.closing(backend.get_connection()) as conn:
        conn.save_logbook(book)
        assert [b.name for b in conn.get_logbooks()] == ["theirs"]
    backend.close()
    assert _sql(url, after) == books  # recorder's rows untouched by TaskFlow's
    assert migrate.check(url) == []


def test_a_database_made_at_0005_upgrades_in_place(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, "0005")
    engine = create_engine(urls.normalize(empty_db_url))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO logbooks (uuid, name, meta, created_at) "
                "VALUES ('b1', 'book', '{\"k\": 1}', '2024-11-26 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO flow_details (uuid, logbook_uuid, name, state, meta, created_at) "
                "VALUES ('f1', 'b1', 'flow', 'SUCCESS', '{}', '2024-11-26 00:00:01')"
            )
        )
    engine.dispose()
    assert _sql(empty_db_url, "SELECT version_num FROM alembic_version") == [("0005",)]
    assert migrate.current(empty_db_url) == "0005"  # read where a 0005 database keeps it
    assert migrate.upgrade(empty_db_url) == ("0005", HEAD)
    backend = connect(empty_db_url)
    try:
        book = backend.load_logbook("b1")
    finally:
        backend.close()
    assert (book.name, book.meta, [f.name for f in book]) == ("book", {"k": 1}, ["flow"])
    assert migrate.check(empty_db_url) == []
    assert "alembic_version" not in _tables(empty_db_url)
    # and back: 0005 finds its revision and its table where it left them
    assert migrate.downgrade(empty_db_url, "0005") == (HEAD, "0005")
    assert _sql(empty_db_url, "SELECT version_num FROM alembic_version") == [("0005",)]
    assert {"logbooks"} <= _tables(empty_db_url)
    assert "recorder_alembic_version" not in _tables(empty_db_url)
    assert migrate.upgrade(empty_db_url) == ("0005", HEAD)


@pytest.mark.parametrize("first", ["taskflow", "recorder"])
def test_both_schemas_in_one_database_each_migrating_on_its_own(
    empty_db_url: str, first: str
) -> None:
    if first == "taskflow":
        tf_backend = _taskflow_upgrade(empty_db_url)
        assert migrate.current(empty_db_url) is None  # TaskFlow's revision is not recorder's
        assert migrate.upgrade(empty_db_url) == (None, HEAD)
    else:
        assert migrate.upgrade(empty_db_url) == (None, HEAD)
        tf_backend = _taskflow_upgrade(empty_db_url)
    assert migrate.check(empty_db_url) == []
    assert {"logbooks", "flowdetails", "atomdetails", "recorder_logbooks"} <= _tables(empty_db_url)
    assert migrate.upgrade(empty_db_url) == (HEAD, HEAD)  # again: nothing to do
    with contextlib.closing(tf_backend.get_connection()) as conn:
        conn.upgrade()  # TaskFlow's again too

    # A TaskFlow engine persisting to TaskFlow's tables, recorded into recorder's.
    from recorder.integrations.taskflow import record

    engine = engines.load(linear_flow.Flow("side-by-side").add(Hello()), backend=tf_backend)
    with record(engine, backend=empty_db_url, mode="durable") as bridge:
        engine.run()
    assert bridge.failure_count == 0
    flow_uuid = str(engine.storage.flow_uuid)
    assert verify_flow(empty_db_url, flow_uuid).ok
    with contextlib.closing(tf_backend.get_connection()) as conn:
        assert conn.get_flow_details(flow_uuid).state == "SUCCESS"
    tf_backend.close()
    assert _sql(empty_db_url, "SELECT count(*) FROM flowdetails") == [(1,)]
    assert _sql(empty_db_url, "SELECT count(*) FROM flow_details") == [(1,)]


def test_going_below_0006_beside_taskflow_is_one_line(empty_db_url: str) -> None:
    _taskflow_upgrade(empty_db_url).close()
    migrate.upgrade(empty_db_url)
    result = _cli("--db", empty_db_url, "db", "downgrade", "0005")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another application's logbooks table" in lines[0]
    assert migrate.current(empty_db_url) == HEAD  # nothing changed
    assert migrate.check(empty_db_url) == []


def test_a_table_of_recorders_name_owned_by_another_application(empty_db_url: str) -> None:
    engine = create_engine(urls.normalize(empty_db_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE transitions (id INTEGER PRIMARY KEY, what TEXT)"))
    engine.dispose()
    result = _cli("--db", empty_db_url, "db", "upgrade")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "no recorder schema but already has transitions of another application" in lines[0]
    assert migrate.current(empty_db_url) is None


def test_a_taskflow_database_is_never_called_newer_than_recorder(empty_db_url: str) -> None:
    _taskflow_upgrade(empty_db_url).close()
    current = _cli("--db", empty_db_url, "db", "current")
    assert current.exit_code == 0 and current.output.startswith("none (head %s" % HEAD)
    result = _cli("--db", empty_db_url, "verify")
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert "newer" not in message and "no recorder schema" in message
    assert _cli("--db", empty_db_url, "flows").output.startswith("no flows")  # TaskFlow's, read
