"""TaskFlow's ``impl_memory.MemoryBackend``: the in-process backend with a connection.

TaskFlow code builds it as ``MemoryBackend(conf)`` and reads, saves and cleans
up through ``backend.get_connection()`` (:mod:`recorder.persistence.connection`);
both work here on top of recorder's :class:`~recorder.persistence.memory.MemoryBackend`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recorder.persistence import memory
from recorder.persistence.connection import Connection


class MemoryBackend(memory.MemoryBackend):
    """recorder's memory backend, constructed and cleared the TaskFlow way."""

    def __init__(self, conf: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self._conf = dict(conf or {})

    def get_connection(self) -> Connection:
        return Connection(self)

    def forget_all(self) -> None:
        """Forget everything stored, trails included (``clear_all`` on this scratch store)."""
        with self._lock:
            self.logbooks.clear()
            self.flows.clear()
            self.atoms.clear()
            self.transitions.clear()
            self._transition_keys.clear()

    def __enter__(self) -> MemoryBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
