"""Database fixtures shared by every test package.

* ``sqlite_url`` -- a migrated SQLite file in the test's tmp dir (copied from a
  file migrated once per session, so it is cheap).
* ``pg_url`` -- a fresh, migrated PostgreSQL database per test, cloned by
  pytest-postgresql from a template migrated once per session. The server is
  the one answering at 127.0.0.1:5432 (user postgres, trust auth; override with
  RECORDER_PG_HOST / RECORDER_PG_PORT / RECORDER_PG_USER / RECORDER_PG_PASSWORD),
  else one pytest-postgresql starts from the local ``pg_ctl``, else the test is
  skipped -- or fails when RECORDER_REQUIRE_POSTGRES=1 (CI).
* ``db_url`` -- both of the above: tests using it run once per database; the
  PostgreSQL run is marked ``postgres``.
* ``sqlite_empty_url`` / ``pg_empty_url`` / ``empty_db_url`` -- the same without
  a schema (for migration tests).

Engine tests use them as ``connect(db_url, mode=...)``.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from pytest_postgresql import factories
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy.engine import URL

from recorder.persistence import migrate

# Property tests check behaviour, not speed: a busy shared machine must not fail them.
settings.register_profile("recorder", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("recorder")

PG_HOST = os.environ.get("RECORDER_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("RECORDER_PG_PORT", "5432"))
PG_USER = os.environ.get("RECORDER_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("RECORDER_PG_PASSWORD") or None
REQUIRE_POSTGRES = os.environ.get("RECORDER_REQUIRE_POSTGRES") == "1"

# Per-session names: several pytest runs may share one server at the same time.
_DBNAME = "recorder_test_%d" % os.getpid()
_counter = itertools.count()


def pg_url_for(host: str, port: int | str, user: str, dbname: str, password: str | None) -> str:
    """A psycopg 3 URL for a database on the test server."""
    url = URL.create(
        "postgresql+psycopg",
        username=user,
        password=password,
        host=host,
        port=int(port),
        database=dbname,
    )
    return url.render_as_string(hide_password=False)


def _migrate_template(
    host: str, port: int | str, user: str, dbname: str, password: str | None, **_: Any
) -> None:
    """pytest-postgresql loader: migrate the template database once per session."""
    migrate.upgrade(pg_url_for(host, port, user, dbname, password))


recorder_pg_noproc = factories.postgresql_noproc(
    host=PG_HOST,
    port=PG_PORT,
    user=PG_USER,
    password=PG_PASSWORD,
    dbname=_DBNAME,
    load=[_migrate_template],
)
recorder_pg_proc = factories.postgresql_proc(
    executable=shutil.which("pg_ctl") or None,
    host="127.0.0.1",
    port=None,
    user="postgres",
    dbname=_DBNAME,
    load=[_migrate_template],
)


def _server_answers() -> bool:
    try:
        with psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            password=PG_PASSWORD,
            dbname="postgres",
            connect_timeout=3,
        ):
            return True
    except psycopg.Error:
        return False


def _no_postgres(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail("RECORDER_REQUIRE_POSTGRES=1 but " + reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Any:
    """The pytest-postgresql executor of the server the PostgreSQL tests use."""
    if _server_answers():
        return request.getfixturevalue("recorder_pg_noproc")
    if shutil.which("pg_ctl") and os.geteuid() != 0:  # postgres refuses to run as root
        return request.getfixturevalue("recorder_pg_proc")
    _no_postgres(
        "no PostgreSQL server answers at %s:%d (user %s) and no pg_ctl can start one"
        % (PG_HOST, PG_PORT, PG_USER)
    )


def _fresh_pg_database(server: Any, template: str | None) -> Iterator[str]:
    name = "%s_%d" % (server.dbname, next(_counter))
    janitor = DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        dbname=name,
        template_dbname=template,
        password=server.password,
        maintenance_dbname=getattr(server, "maintenance_dbname", "postgres"),
    )
    with janitor:  # drops the database (ending its connections) afterwards
        yield pg_url_for(server.host, server.port, server.user, name, server.password)


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """A fresh PostgreSQL database at the head revision."""
    yield from _fresh_pg_database(pg_server, pg_server.template_dbname)


@pytest.fixture
def pg_empty_url(pg_server: Any) -> Iterator[str]:
    """A fresh PostgreSQL database with no schema."""
    yield from _fresh_pg_database(pg_server, None)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade("sqlite:///%s" % path)
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite file at the head revision, in this test's tmp dir."""
    path = tmp_path / "recorder.db"
    shutil.copyfile(_sqlite_template, path)
    return "sqlite:///%s" % path


@pytest.fixture
def sqlite_empty_url(tmp_path: Path) -> str:
    """A SQLite URL whose file does not exist yet."""
    return "sqlite:///%s" % (tmp_path / "empty.db")


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL: runs the test on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(params=DATABASES)
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """A database URL without a schema, on SQLite and on PostgreSQL."""
    name = "sqlite_empty_url" if request.param == "sqlite" else "pg_empty_url"
    url: str = request.getfixturevalue(name)
    return url
