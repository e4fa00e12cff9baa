"""What the engine's storage needs from a persistence backend.

A backend takes ordered write ops (:mod:`recorder.persistence.ops`) and loads
what was stored back into plain records (:mod:`recorder.persistence.models`,
:mod:`recorder.persistence.rows`).
The engine keeps the running flow's state in memory and never reads it back
from the backend while it runs, so a backend only has to be fast at writing.

Write modes:

``durable``
    ``write()`` returns only once the ops are committed: nothing the engine went
    on from is ever lost.
``batched``
    ``write()`` queues the ops (blocking when the bounded queue is full) and a
    background writer commits them in batches; ``flush()`` waits until all
    queued ops are committed. The engine flushes at the end of every run.

Errors: a write that cannot be committed raises :class:`~recorder.exceptions.StorageError`
from ``write()`` (durable) or from the next ``write()``/``flush()``/``close()``
(batched). It is never only logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from recorder.persistence.models import FlowDetail, LogBook
from recorder.persistence.ops import Op
from recorder.persistence.rows import TransitionRow


@runtime_checkable
class Backend(Protocol):
    """The interface every persistence backend implements."""

    mode: str

    def write(self, ops: Sequence[Op]) -> None:
        """Apply ``ops`` in order (see the module docstring for when it returns)."""

    def flush(self) -> None:
        """Return once everything written so far is committed; raise a pending error."""

    def close(self) -> None:
        """Flush, then release connections. Idempotent."""

    def load_flow(self, flow_uuid: str) -> FlowDetail:
        """Return a stored flow detail with all its atom details; NotFound if none."""

    def load_logbook(self, logbook_uuid: str) -> LogBook:
        """Return a stored logbook with its flow details (and their atoms); NotFound if none."""

    def load_transitions(self, flow_uuid: str) -> list[TransitionRow]:
        """The flow's transitions rows (after a flush), in ``seq`` order; [] if none."""

    def last_transition(self, flow_uuid: str) -> tuple[int, str] | None:
        """``(seq, hash)`` of the flow's newest transition row (after a flush), or None.

        The transition recorder continues a resumed flow's sequence and hash
        chain from here.
        """
