"""Fetch a job board by configuration, as ``taskflow.jobs.backends.fetch``.

``fetch(name, conf, persistence=None)``: ``conf`` is a database URL or a dict
with ``url`` (or ``connection``, or an SQLAlchemy ``engine``) and optional
``board`` (``sql``, the only kind; ``postgresql``/``sqlite`` are accepted too),
``lease`` and ``poll_interval`` seconds. The board is returned unconnected;
call ``connect()`` (or use :func:`backend`, a context manager that connects
and closes it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from recorder.exceptions import NotFound
from recorder.jobs.backends.impl_sql import SQLJobBoard

BOARDS = ("sql", "sqlite", "postgresql", "postgres")


def fetch(
    name: str, conf: str | dict[str, Any], persistence: Any = None, **kwargs: Any
) -> SQLJobBoard:
    """A job board named ``name`` configured by ``conf`` (see the module docstring)."""
    settings: dict[str, Any] = {"url": conf} if isinstance(conf, str) else dict(conf)
    settings.update(kwargs)
    kind = str(settings.pop("board", "sql")).lower()
    if kind not in BOARDS:
        raise NotFound("unknown job board %r; use one of: %s" % (kind, ", ".join(BOARDS)))
    return SQLJobBoard(name, settings, persistence=persistence)


@contextlib.contextmanager
def backend(
    name: str, conf: str | dict[str, Any], persistence: Any = None, **kwargs: Any
) -> Iterator[SQLJobBoard]:
    """:func:`fetch`, connected for the ``with`` block and closed after it."""
    board = fetch(name, conf, persistence=persistence, **kwargs)
    board.connect()
    try:
        yield board
    finally:
        board.close()
