"""Migrations: one linear chain, up and down on both databases, no drift, working
views, an append-only audit trail on PostgreSQL, and connect() refusing any
schema but the head."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from recorder.cli import main
from recorder.exceptions import DatabaseUnavailable, SchemaMismatch
from recorder.persistence import connect, migrate, urls
from recorder.persistence.ops import UpdateFlow
from tests.persistence.helpers import Flow, later

TABLES = {"recorder_logbooks", "flow_details", "atom_details", "transitions", "jobs", "job_events"}
HEAD = "0007_jobs"
VIEWS = {"atom_attempts", "flow_runs"}


def _names(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(urls.normalize(url))
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names()), set(inspector.get_view_names())
    finally:
        engine.dispose()


def test_the_chain_is_linear_with_one_head() -> None:
    assert migrate.head_revision() == HEAD
    assert migrate.known_revisions() == [
        "0001",
        "0002",
        "0003",
        "0004",
        "0005",
        "0006_coexist",
        HEAD,
    ]


def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    assert migrate.current(empty_db_url) is None
    assert migrate.upgrade(empty_db_url) == (None, HEAD)
    tables, views = _names(empty_db_url)
    assert tables >= TABLES and views == VIEWS
    assert migrate.downgrade(empty_db_url, "base") == (HEAD, None)
    tables, views = _names(empty_db_url)
    assert tables <= {"recorder_alembic_version"} and not views
    assert migrate.upgrade(empty_db_url, "0001") == (None, "0001")
    assert migrate.upgrade(empty_db_url) == ("0001", HEAD)
    assert migrate.check(empty_db_url) == []


def test_no_drift_between_models_and_migrations(db_url: str) -> None:
    assert migrate.check(db_url) == []


def test_check_refuses_a_database_that_is_not_at_head(empty_db_url: str) -> None:
    with pytest.raises(SchemaMismatch, match="recorder db upgrade"):
        migrate.check(empty_db_url)


def test_connect_refuses_missing_schema_and_writes_nothing(empty_db_url: str) -> None:
    with pytest.raises(SchemaMismatch) as caught:
        connect(empty_db_url)
    message = str(caught.value)
    assert "no recorder schema" in message or "does not exist" in message
    assert "run `recorder db upgrade --db " in message
    assert "\n" not in message
    assert (caught.value.current, caught.value.expected) == (None, migrate.head_revision())
    if empty_db_url.startswith("sqlite"):
        assert migrate.current(empty_db_url) is None
        assert not _path(empty_db_url).exists()
    else:
        assert _names(empty_db_url) == (set(), set())


def _path(url: str) -> Any:
    from pathlib import Path

    return Path(url.removeprefix("sqlite:///"))


def test_connect_refuses_older_and_newer_schemas(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, "0002")
    with pytest.raises(
        SchemaMismatch,
        match=r"revision 0002, this recorder needs 0007_jobs: run `recorder db upgrade",
    ) as older:
        connect(empty_db_url)
    assert (older.value.current, older.value.expected) == ("0002", migrate.head_revision())
    migrate.upgrade(empty_db_url)
    engine = create_engine(urls.normalize(empty_db_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE recorder_alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="revision ffff, newer than this recorder") as newer:
        connect(empty_db_url)
    assert newer.value.current == "ffff"
    with pytest.raises(SchemaMismatch, match="newer"):
        migrate.upgrade(empty_db_url)


def test_unreachable_database_is_one_clear_line() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        connect("postgresql://someone:s3cret@127.0.0.1:1/nowhere")
    message = str(caught.value)
    assert message.startswith(
        "cannot connect to database at postgresql+psycopg://someone:***@127.0.0.1:1/nowhere"
    )
    assert "s3cret" not in message and "\n" not in message
    assert caught.value.url == "postgresql+psycopg://someone:***@127.0.0.1:1/nowhere"
    assert isinstance(caught.value.__cause__, DBAPIError)  # the driver's error, chained
    assert "s3cret" not in str(caught.value.__cause__)
    with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
        migrate.upgrade("sqlite:////nonexistent-dir/x.db")


def _run(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, args, env=env)


def test_cli_db_commands(empty_db_url: str) -> None:
    result = _run(["--db", empty_db_url, "db", "current"])
    assert result.exit_code == 0 and result.output.startswith("none (head %s" % HEAD)
    result = _run(["--db", empty_db_url, "db", "check"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "recorder db upgrade" in result.output
    assert "Traceback" not in result.output
    result = _run(["db", "upgrade", "--db", empty_db_url])  # the form the hints print
    assert result.exit_code == 0 and "upgraded from none to %s" % HEAD in result.output
    assert _run(["--db", empty_db_url, "db", "upgrade"]).output.endswith(
        "already at revision %s\n" % HEAD
    )
    result = _run(["--db", empty_db_url, "db", "check"])
    assert result.exit_code == 0 and result.output.startswith("no drift")
    result = _run(["--db", empty_db_url, "db", "downgrade", "0001"])
    assert result.exit_code == 0 and "downgraded from %s to 0001" % HEAD in result.output
    result = _run(["db", "current"], env={urls.ENV_VAR: empty_db_url})
    assert result.output.startswith("0001 (head %s: run `recorder db upgrade`)" % HEAD)
    result = _run(["--db", empty_db_url, "db", "downgrade", "nope"])
    assert result.exit_code == 1 and "Can't locate revision" in result.output
    result = _run(["--db", "postgresql://u:pw@127.0.0.1:1/x", "db", "upgrade"])
    assert result.exit_code == 1
    assert result.output.startswith("recorder: error: cannot connect to database at")
    assert "pw" not in result.output.replace("psycopg", "") and result.output.count("\n") == 1


def test_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(urls.ENV_VAR, raising=False)
    assert urls.resolve_url(None) == "sqlite:///recorder.db"
    monkeypatch.setenv(urls.ENV_VAR, "postgresql://a@b/c")
    assert urls.resolve_url(None) == "postgresql://a@b/c"
    assert urls.resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert urls.normalize("postgresql://a:b@h/d") == "postgresql+psycopg://a:b@h/d"
    assert urls.redact("postgresql://a:secret@h/d") == "postgresql://a:***@h/d"


def _view_rows(backend: Any, view: str, order: str) -> list[dict[str, Any]]:
    with backend.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM %s ORDER BY %s" % (view, order))).mappings()
        return [dict(row) for row in rows]


def test_views_answer_post_mortem_questions(db_url: str) -> None:
    backend = connect(db_url)
    flow = Flow(backend, atoms=("a", "b"), name="nightly")
    t = flow.transition
    backend.write(
        [
            # run 1: a fails, is reverted, is retried and succeeds
            t(None, "PENDING", "RUNNING", 0),
            t("a", "PENDING", "RUNNING", 1, attempt=1),
            t("a", "RUNNING", "FAILURE", 1.5, attempt=1),
            t("a", "FAILURE", "REVERTING", 1.6, attempt=1),
            t("a", "REVERTING", "REVERTED", 1.7, attempt=1),
            t("a", "REVERTED", "PENDING", 1.8, attempt=1),
            t("a", "PENDING", "RUNNING", 3, attempt=2),
            t("a", "RUNNING", "SUCCESS", 3.250123, attempt=2),
            t(None, "RUNNING", "SUCCESS", 4),
            # run 2: the process dies while b runs...
            t(None, "SUCCESS", "RUNNING", 10),
            t("b", "PENDING", "RUNNING", 11, attempt=1),
            # ... run 3: resumed later, b runs again and the flow ends
            t(None, "RUNNING", "RESUMING", 20),
            t(None, "RESUMING", "SUSPENDED", 20.5),
            t(None, "SUSPENDED", "RUNNING", 21),
            t("b", "PENDING", "RUNNING", 22, attempt=2),
            t("b", "RUNNING", "SUCCESS", 22.5, attempt=2),
            t(None, "RUNNING", "SUCCESS", 23),
        ]
    )
    attempts = _view_rows(backend, "atom_attempts", "atom_name, attempt")
    summary = [
        (
            r["atom_name"],
            r["attempt"],
            r["outcome"],
            None if r["duration_s"] is None else round(r["duration_s"], 6),
            bool(r["reverted"]),
        )
        for r in attempts
    ]
    assert summary == [
        ("a", 1, "FAILURE", 0.5, True),
        ("a", 2, "SUCCESS", 0.250123, False),
        ("b", 1, None, None, False),
        ("b", 2, "SUCCESS", 0.5, False),
    ]
    assert {r["flow_name"] for r in attempts} == {"nightly"}
    assert {r["kind"] for r in attempts} == {"task"}
    assert attempts[0]["flow_uuid"] == flow.uuid and attempts[0]["atom_uuid"] == flow.atoms["a"]
    assert attempts[2]["finished_at"] is None

    runs = _view_rows(backend, "flow_runs", "run")
    assert [(r["run"], r["final_state"], round(r["duration_s"], 6)) for r in runs] == [
        (1, "SUCCESS", 4.0),
        (2, None, 1.0),  # died: ended_at is the last thing seen (b started at 11)
        (3, "SUCCESS", 2.0),
    ]
    assert {r["flow_name"] for r in runs} == {"nightly"}
    backend.close()


@pytest.mark.postgres
def test_postgres_transitions_are_append_only(pg_url: str) -> None:
    backend = connect(pg_url)
    flow = Flow(backend, atoms=("a",))
    backend.write(
        [flow.transition(None, "PENDING", "RUNNING", 0), UpdateFlow(flow.uuid, later(), "RUNNING")]
    )
    for statement in (
        "UPDATE transitions SET new_state = 'SUCCESS'",
        "DELETE FROM transitions",
        "TRUNCATE transitions",
    ):
        with backend.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
            conn.execute(text(statement))
    assert len(backend.load_transitions(flow.uuid)) == 1
    backend.close()
