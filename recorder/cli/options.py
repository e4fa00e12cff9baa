"""The options the commands share, declared once: ``--db`` (and :func:`database_url`,
the URL it chooses), ``--json``, ``--source``, ``--format``, ``-o/--output``, ``--engine``
and the ``--name`` / ``--since`` / ``--until`` filters.

Each is a decorator a command applies where it is defined, so no command is changed
after its definition. Nothing here loads SQLAlchemy, the query layer or a renderer:
``recorder --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from recorder.persistence import urls
from recorder.query.model import SOURCES

F = TypeVar("F", bound=Callable[..., Any])

_DB_KEY = "recorder.db"

engine_option: Callable[[F], F] = click.option(
    "--engine",
    "engine_kind",
    type=click.Choice(["serial", "parallel"]),
    default="serial",
    show_default=True,
    help="The engine that runs the flow.",
)
"""``--engine serial|parallel`` (as ``engine_kind``), for the commands that run flows."""


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_DB_KEY] = value


db_option: Callable[[F], F] = click.option(
    "--db",
    metavar="URL",
    default=None,
    expose_value=False,
    callback=_remember_db,
    help="Database URL (default: $%s, else %s)." % (urls.ENV_VAR, urls.DEFAULT_URL),
)
"""``--db URL``, on the root group and on every command, so it is accepted before or
after the subcommand (``recorder --db X db upgrade`` and ``recorder db upgrade --db X``
mean the same). The value is kept in ``ctx.meta``, shared by the whole invocation."""


def given_db(ctx: click.Context) -> str | None:
    """The ``--db`` value as given (None when the URL came from the environment or default)."""
    value = ctx.meta.get(_DB_KEY)
    return value if isinstance(value, str) else None


def database_url(ctx: click.Context) -> str:
    """The URL from ``--db``, else ``$RECORDER_DATABASE_URL``, else the default."""
    value = ctx.meta.get(_DB_KEY)
    return urls.resolve_url(value if isinstance(value, str) else None)


def json_option(shape: str) -> Callable[[F], F]:
    """``--json`` (the parameter ``as_json``): print the document of format ``shape``."""
    return click.option("--json", "as_json", is_flag=True, help="JSON (format %s)." % shape)


source_option: Callable[[F], F] = click.option(
    "--source",
    type=click.Choice((*SOURCES, "taskflow")),
    default="auto",
    show_default=True,
    help="Rebuild from the transitions trail, from meta, whichever exists, or from "
    "TaskFlow's own tables (flowdetails, atomdetails).",
)
"""``--source auto|transitions|meta|taskflow``: where a timeline is rebuilt from."""


def format_option(choices: Sequence[str], default: str) -> Callable[[F], F]:
    """``--format`` (the parameter ``fmt``), one of ``choices``."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=default, show_default=True
    )


def output_option(help: str) -> Callable[[F], F]:
    """``-o/--output FILE``: write to FILE instead of standard output."""
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help=help
    )


def name_option(help: str) -> Callable[[F], F]:
    """``--name PATTERN`` (``*`` and ``?`` are wildcards)."""
    return click.option("--name", "name", metavar="PATTERN", help=help)


def since_option(help: str) -> Callable[[F], F]:
    """``--since WHEN``: an age or an ISO date or time (parsed by the command)."""
    return click.option("--since", metavar="WHEN", help=help)


def until_option(help: str) -> Callable[[F], F]:
    """``--until WHEN``."""
    return click.option("--until", metavar="WHEN", help=help)
