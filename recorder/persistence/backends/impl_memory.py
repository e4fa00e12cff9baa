"""TaskFlow's ``impl_memory.MemoryBackend``: the in-process backend with a connection.

TaskFlow code builds it as ``MemoryBackend(conf)`` and cleans up with
``backend.get_connection().clear_all()``; both work here on top of recorder's
:class:`~recorder.persistence.memory.MemoryBackend`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from recorder.persistence import memory
from recorder.persistence.models import FlowDetail, LogBook


class MemoryBackend(memory.MemoryBackend):
    """recorder's memory backend, constructed and cleared the TaskFlow way."""

    def __init__(self, conf: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self._conf = dict(conf or {})

    def get_connection(self) -> Connection:
        return Connection(self)

    def __enter__(self) -> MemoryBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connection:
    """The read and housekeeping part of TaskFlow's backend connection."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    def validate(self) -> None:
        return None

    def upgrade(self) -> None:
        return None  # nothing to migrate in memory

    def close(self) -> None:
        return None

    def clear_all(self) -> None:
        """Forget everything stored."""
        be = self.backend
        with be._lock:
            be.logbooks.clear()
            be.flows.clear()
            be.atoms.clear()
            be.transitions.clear()
            be._transition_keys.clear()

    def get_logbook(self, book_uuid: str, lazy: bool = False) -> LogBook:
        return self.backend.load_logbook(book_uuid)

    def get_logbooks(self, lazy: bool = False) -> Iterator[LogBook]:
        for uuid in list(self.backend.logbooks):
            yield self.backend.load_logbook(uuid)

    def get_flow_details(self, fd_uuid: str, lazy: bool = False) -> FlowDetail:
        return self.backend.load_flow(fd_uuid)

    def get_flows_for_book(self, book_uuid: str, lazy: bool = False) -> Iterator[FlowDetail]:
        yield from self.backend.load_logbook(book_uuid)
