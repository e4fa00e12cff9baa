"""What the commands share at run time: the database they read, how they print, and
the files they write. SQLAlchemy, the query layer and the renderers are imported on
first use, not when the CLI starts.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from recorder.cli.options import database_url
from recorder.exceptions import OutputFailed, StorageError
from recorder.persistence import urls

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

ERROR_EXIT = 1
"""Exit code of a user error: one line on stderr (click's usage message for bad usage)."""

INTEGRITY_EXIT = 2
"""Exit code of ``recorder verify`` when a flow does not verify."""


@contextmanager
def reading(ctx: click.Context) -> Iterator[Connection]:
    """A connection to the recorder database, refused (one line, exit 1) without the schema."""
    from sqlalchemy.exc import DBAPIError

    from recorder.persistence import connect, db

    url = database_url(ctx)
    backend = connect(url)
    try:
        with backend.engine.connect() as conn:
            yield conn
    except DBAPIError as exc:
        raise StorageError(
            "reading from %s failed: %s" % (urls.redact(url), db.describe(exc))
        ) from exc
    finally:
        backend.close()


def command_name() -> str:
    """How to run this recorder again, as shell words: ``recorder`` when that name on
    PATH is this very program (or it was not started as ``recorder``), else the path
    it was started by (``.venv/bin/recorder`` after ``./scripts/demo``)."""
    started = sys.argv[0] if sys.argv else ""
    if os.path.basename(started) != "recorder":
        return "recorder"
    found = shutil.which("recorder")
    if found is not None and os.path.realpath(found) == os.path.realpath(started):
        return "recorder"
    return shlex.quote(started)


def say(text: str, *, err: bool = False) -> None:
    """Print a text line (or lines) with any control character in it shown escaped.

    For messages that quote recorded names and for the text tables; never for
    JSON or CSV, which keep exact values.
    """
    from recorder.render.visible import visible

    click.echo(visible(text, keep_newlines=True), err=err)


def when_option(value: str | None, option: str) -> datetime | None:
    """The time a ``--since`` / ``--until`` value names (None when not given)."""
    from recorder.query.when import parse_when

    return None if value is None else parse_when(value, option=option)


def write_output(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` and say where it went (on stderr)."""
    if output is None:
        # color=True: click would otherwise strip ANSI sequences from a pipe, and a
        # CSV value must come out exactly as recorded (text tables are escaped already).
        click.echo(text, nl=not text.endswith("\n"), color=True)
        return
    write_file(output, text if text.endswith("\n") else text + "\n")
    say("wrote %s" % output, err=True)


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (creating its folders); OutputFailed saying why if not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputFailed("cannot write %s: %s" % (path, reason)) from exc
