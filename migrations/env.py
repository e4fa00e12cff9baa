"""Alembic environment for recorder: one chain of migrations for SQLite and PostgreSQL.

recorder's own code (``recorder.persistence.migrate``) hands an open connection in
``config.attributes["connection"]``. Run by the plain ``alembic`` command, the
database comes from ``sqlalchemy.url`` in alembic.ini, else RECORDER_DATABASE_URL,
else ``sqlite:///recorder.db``. SQLite gets batch mode (it cannot ALTER most things).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from recorder.persistence import (
    db,
    jobs_schema,  # noqa: F401  (adds the job tables to metadata)
    urls,
)
from recorder.persistence.coexist import VERSION_TABLE
from recorder.persistence.schema import metadata

config = context.config


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return urls.normalize(urls.resolve_url(configured or None))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table=VERSION_TABLE,
    )


def run_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = db.create_db_engine(_url(), for_migrations=True)
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
