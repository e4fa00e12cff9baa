"""TaskFlow's ``persistence.backends`` entry point: ``fetch(conf)`` opens a backend.

TaskFlow code opens its backend with ``backends.fetch({"connection": url})``;
this keeps that spelling working. ``memory``/``memory://`` gives the in-process
backend, any other URL the SQL backend (see :func:`recorder.persistence.connect`),
``sqlite://`` an in-memory SQLite database. As in TaskFlow, the schema is not
checked here: call ``backend.get_connection().upgrade()`` (or ``validate()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recorder.exceptions import InvalidArgument
from recorder.persistence.base import Backend

MEMORY_NAMES = frozenset({"memory", "memory:", "memory://"})


def fetch(conf: Mapping[str, Any] | str, namespace: str = "", **kwargs: Any) -> Backend:
    """The backend that ``conf`` (a URL, or a mapping with a ``connection`` URL) names."""
    url = conf if isinstance(conf, str) else conf.get("connection")
    if not isinstance(url, str) or not url:
        raise InvalidArgument("a backend needs a 'connection' URL, got %r" % (conf,))
    if url in MEMORY_NAMES:
        from recorder.persistence.backends.impl_memory import MemoryBackend

        return MemoryBackend(conf if isinstance(conf, Mapping) else None)
    from recorder.persistence import db
    from recorder.persistence.sql import SQLBackend, connect

    mode = kwargs.get("mode") or "durable"
    if db.is_memory_sqlite(url):
        return SQLBackend(db.create_db_engine(url, in_memory=True), mode=mode, owns_engine=True)
    # TaskFlow's way: fetch, then ``get_connection().upgrade()``; so no schema check here.
    return connect(url, mode=mode, check_schema=False)


def backend(conf: Mapping[str, Any] | str, namespace: str = "", **kwargs: Any) -> Backend:
    """TaskFlow's context-manager spelling of :func:`fetch` (the backend closes on exit)."""
    return fetch(conf, namespace, **kwargs)
