"""Record a real TaskFlow engine in recorder's schema: :func:`record`, :class:`TaskFlowRecorder`.

The recorder listens on the engine's two notifiers (flow and atom events) and
hands each change's ops (:mod:`recorder.integrations.taskflow.trail`) to a
recorder backend. Batched by default: the TaskFlow engine thread then pays only
for building a few small ops and an enqueue, and recorder's background writer
(:mod:`recorder.persistence.writer`) commits them; ``mode="durable"`` commits
each change before TaskFlow goes on.

A recorder failure never breaks the TaskFlow run: every exception in a callback,
and a write the backend reports failed on flush, is caught, logged, counted
(:attr:`TaskFlowRecorder.failure_count`) and kept (:attr:`TaskFlowRecorder.errors`);
:meth:`TaskFlowRecorder.check` raises :class:`RecordingIncomplete` when there
were any, for callers that want the run to fail then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from recorder.exceptions import InvalidArgument, NotFound, StorageError
from recorder.integrations.taskflow.events import Change, atom_change, flow_change
from recorder.integrations.taskflow.trail import FlowTrail
from recorder.persistence import sql
from recorder.persistence.base import Backend
from recorder.persistence.models import FlowDetail

LOG = logging.getLogger(__name__)

ANY = "*"  # TaskFlow's Notifier.ANY
MAX_KEPT_ERRORS = 20
"""How many recorder errors an object keeps (the count goes on)."""


class RecordingIncomplete(StorageError):
    """Some of a TaskFlow run's changes could not be recorded."""


class TaskFlowRecorder:
    """Writes one TaskFlow engine's state changes as recorder flow/atom/transitions rows.

    ``backend``: a database URL (opened in ``mode``, closed on :meth:`deregister`)
    or an open recorder backend (flushed on :meth:`deregister`, left open).
    """

    def __init__(self, engine: Any, backend: str | Backend, *, mode: str = "batched") -> None:
        if mode not in sql.MODES:
            raise InvalidArgument("mode must be one of %s, not %r" % (sql.MODES, mode))
        for attribute in ("notifier", "atom_notifier", "storage"):
            if not hasattr(engine, attribute):
                raise InvalidArgument(
                    "record() needs a TaskFlow engine (taskflow.engines.load), got %r" % (engine,)
                )
        self._engine = engine
        self._target = backend
        self._mode = mode
        self._backend: Backend | None = None
        self._owns_backend = False
        self._trail: FlowTrail | None = None
        self._lock = threading.Lock()
        self._registered = False
        self.failure_count = 0
        self.errors: list[BaseException] = []

    @property
    def backend(self) -> Backend | None:
        return self._backend

    @property
    def head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest row this recorder produced, once registered."""
        with self._lock:
            return None if self._trail is None else (self._trail.seq, self._trail.head)

    def register(self) -> None:
        """Open the backend, continue the flow's chain from its newest stored row, listen.

        A backend that cannot be opened or read (no schema, server down) is
        counted, logged and kept like any recording failure, and nothing is
        recorded: the TaskFlow run goes on (see :meth:`check`).
        """
        if self._registered:
            return
        try:
            self._trail = self._open()
        except Exception as exc:
            self._failed(exc, "opening the recorder backend")
            return
        self._engine.notifier.register(ANY, self._on_flow)
        self._engine.atom_notifier.register(ANY, self._on_atom)
        self._registered = True

    def _open(self) -> FlowTrail:
        if isinstance(self._target, str):
            self._backend = sql.connect(self._target, mode=self._mode)
            self._owns_backend = True
        else:
            self._backend = self._target
        storage = self._engine.storage
        flow_uuid, flow_name = str(storage.flow_uuid), str(storage.flow_name)
        self._backend.flush()
        stored: FlowDetail | None
        try:
            stored = self._backend.load_flow(flow_uuid)
        except NotFound:
            stored = None
        return FlowTrail(flow_uuid, flow_name, stored, self._backend.last_transition(flow_uuid))

    @property
    def recording(self) -> bool:
        """True while registered on the engine (False when the backend could not be opened)."""
        return self._registered

    def deregister(self) -> None:
        """Stop listening and flush (close, when this recorder opened the backend).

        A write that failed is counted and kept, never raised (see :meth:`check`).
        """
        if not self._registered:
            return
        self._engine.notifier.deregister(ANY, self._on_flow)
        self._engine.atom_notifier.deregister(ANY, self._on_atom)
        self._registered = False
        backend = self._backend
        if backend is None:
            return
        try:
            backend.close() if self._owns_backend else backend.flush()
        except Exception as exc:
            self._failed(exc, "flushing the recorded changes")

    def check(self) -> None:
        """Raise :class:`RecordingIncomplete` if any change could not be recorded."""
        if self.failure_count:
            last = self.errors[-1] if self.errors else None
            raise RecordingIncomplete(
                "%d recording failure(s) for flow %r; the last: %s"
                % (self.failure_count, self._engine.storage.flow_name, last)
            )

    def __enter__(self) -> TaskFlowRecorder:
        self.register()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.deregister()

    # -- callbacks (TaskFlow's engine thread) ---------------------------------

    def _on_flow(self, state: str, details: Mapping[str, Any]) -> None:
        self._record(flow_change, state, details)

    def _on_atom(self, state: str, details: Mapping[str, Any]) -> None:
        self._record(atom_change, state, details)

    def _record(
        self,
        read: Callable[[str, Mapping[str, Any]], Change],
        state: str,
        details: Mapping[str, Any],
    ) -> None:
        try:
            change = read(state, details)
            with self._lock:
                trail, backend = self._trail, self._backend
                if trail is None or backend is None:
                    return
                backend.write(trail.ops_for(change))  # under the lock: rows go in seq order
        except Exception as exc:  # never into TaskFlow's engine: counted, logged, kept
            self._failed(exc, "recording %s %s" % (state, _subject(details)))

    def _failed(self, exc: Exception, doing: str) -> None:
        with self._lock:
            self.failure_count += 1
            self.errors.append(exc)
            del self.errors[:-MAX_KEPT_ERRORS]
        LOG.error("recorder: %s failed: %s", doing, exc, exc_info=exc)


def _subject(details: Mapping[str, Any]) -> str:
    for key in ("task_name", "retry_name", "flow_name"):
        if key in details:
            return "%s %r" % (key.split("_")[0], details[key])
    return "event"


@contextmanager
def record(
    engine: Any, backend: str | Backend, *, mode: str = "batched"
) -> Iterator[TaskFlowRecorder]:
    """Record ``engine`` (made by ``taskflow.engines.load``) while the block runs.

    ``with record(engine, backend="sqlite:///recorder.db"): engine.run()``
    """
    recorder = TaskFlowRecorder(engine, backend, mode=mode)
    recorder.register()
    try:
        yield recorder
    finally:
        recorder.deregister()
