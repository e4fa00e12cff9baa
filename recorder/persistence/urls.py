"""Database URLs: which one to use, how to show it, and which driver to speak.

The CLI, the demo and the engine all pick the database the same way
(``--db``, else ``RECORDER_DATABASE_URL``, else ``sqlite:///recorder.db``), and
every message that names a database shows it without its password.

SQLAlchemy is imported on first use, so that the CLI can name the default URL
(``recorder --help``) without loading it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from recorder.exceptions import InvalidArgument

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

ENV_VAR = "RECORDER_DATABASE_URL"
DEFAULT_URL = "sqlite:///recorder.db"

# Plain PostgreSQL URLs would pick psycopg2, which recorder does not depend on.
_PG_ALIASES = ("postgresql", "postgres")


def resolve_url(cli_value: str | None = None) -> str:
    """The database URL to use: the explicit value, else the environment, else the default."""
    if cli_value:
        return cli_value
    return os.environ.get(ENV_VAR) or DEFAULT_URL


def parse(url: str | URL) -> URL:
    """Parse ``url`` and point plain ``postgresql://`` URLs at psycopg 3."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        shown = redact_text(str(url))
        hint = ""
        if "://" not in shown and shown.strip():
            hint = "; for a SQLite file write sqlite:///%s" % shown.strip()
        raise InvalidArgument("not a database URL: %r%s" % (shown, hint)) from exc
    if parsed.drivername in _PG_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def normalize(url: str | URL) -> str:
    """``url`` as a string SQLAlchemy will open with recorder's drivers (password kept)."""
    return parse(url).render_as_string(hide_password=False)


def redact(url: str | URL) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return redact_text(str(url))


def redact_text(text: str) -> str:
    """Best effort for strings that are not URLs: hide what follows ``user:`` up to ``@``."""
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return text
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return "%s://%s:***@%s" % (scheme, user, host) if ":" in credentials else text


def dialect_name(url: str | URL) -> str:
    """``sqlite`` or ``postgresql`` (the dialect part of the URL)."""
    return parse(url).get_backend_name()
