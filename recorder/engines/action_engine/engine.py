"""Action engines: what ``engines.load`` returns.

An engine holds a compiled flow, its storage and two notifiers: ``notifier``
for flow state changes and ``atom_notifier`` for task and retry state changes.
``run()`` runs the flow to an end (or a suspension); the serial engine runs one
atom at a time on the caller's thread, the parallel engine runs independent
atoms on a thread pool.
"""

from __future__ import annotations

import os
import threading
from concurrent import futures
from typing import Any

from recorder import task as task_module
from recorder.engines.action_engine.runner import Runner
from recorder.engines.compiler import Compilation
from recorder.exceptions import AlreadyRunning, InvalidArgument
from recorder.notifier import Notifier
from recorder.storage import Storage


class ActionEngine:
    """Runs a compiled flow; subclasses choose how atoms are executed."""

    def __init__(
        self,
        compilation: Compilation,
        storage: Storage,
        options: dict[str, Any] | None = None,
        *,
        owns_backend: bool = False,
    ) -> None:
        """``owns_backend``: the engine opened its backend itself, so :meth:`close`
        closes it (otherwise it only flushes it)."""
        self._compilation = compilation
        self._storage = storage
        self._options = dict(options or {})
        self._notifier = Notifier()
        self._atom_notifier = Notifier()
        self._run_lock = threading.Lock()
        self._suspend = threading.Event()
        self._owned_backend = owns_backend
        for atom in compilation.atoms:
            if isinstance(atom, task_module.Task):
                atom.notifier.register(
                    task_module.EVENT_UPDATE_PROGRESS, self._on_progress, kwargs={"name": atom.name}
                )

    # -- the public surface ----------------------------------------------------

    @property
    def notifier(self) -> Notifier:
        """Flow state changes: details ``engine, flow_name, flow_uuid, old_state, timestamp``."""
        return self._notifier

    @property
    def atom_notifier(self) -> Notifier:
        """Task and retry state changes (``task_name``/``retry_name``, ``..._uuid``, ...)."""
        return self._atom_notifier

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def compilation(self) -> Compilation:
        return self._compilation

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    @property
    def suspend_requested(self) -> bool:
        return self._suspend.is_set()

    @property
    def max_workers(self) -> int:
        return 1

    def compile(self) -> None:
        """Kept for TaskFlow compatibility: loading already compiled the flow."""

    def prepare(self) -> None:
        """Kept for TaskFlow compatibility: loading already prepared storage."""

    def validate(self) -> None:
        """Kept for TaskFlow compatibility: loading already validated requirements."""

    def suspend(self) -> None:
        """Ask a running engine to stop starting atoms; ``run()`` returns once they finish."""
        self._suspend.set()

    def run(self) -> None:
        """Run the flow until it ends or is suspended; re-raise what made it fail."""
        if not self._run_lock.acquire(blocking=False):
            raise AlreadyRunning("engine for flow %r is already running" % self._storage.flow_name)
        try:
            self._suspend.clear()
            executor, shutdown = self._make_executor()
            try:
                Runner(self, executor).run()
            finally:
                if shutdown and executor is not None:
                    executor.shutdown(wait=True)
                backend = self._storage.backend
                if backend is not None:
                    backend.flush()
        finally:
            self._run_lock.release()

    def close(self) -> None:
        """Flush and close the database backend the engine opened itself (if any)."""
        backend = self._storage.backend
        if backend is not None:
            if self._owned_backend:
                backend.close()
            else:
                backend.flush()

    def __enter__(self) -> ActionEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- for subclasses --------------------------------------------------------

    def _make_executor(self) -> tuple[futures.Executor | None, bool]:
        """The executor for one run, and whether the engine must shut it down after."""
        return None, False

    def _on_progress(self, event_type: str, details: dict[str, Any], name: str) -> None:
        self._storage.update_atom_metadata(name, {"progress": details.get("progress", 0.0)})


class SerialActionEngine(ActionEngine):
    """Runs one atom at a time, on the thread that called ``run()``."""


class ParallelActionEngine(ActionEngine):
    """Runs independent atoms at the same time on a thread pool (or a given executor)."""

    def __init__(
        self,
        compilation: Compilation,
        storage: Storage,
        options: dict[str, Any] | None = None,
        *,
        owns_backend: bool = False,
    ) -> None:
        super().__init__(compilation, storage, options, owns_backend=owns_backend)
        executor = self._options.get("executor")
        if executor is not None and not isinstance(executor, futures.Executor):
            raise InvalidArgument("executor must be a concurrent.futures.Executor: %r" % executor)
        workers = self._options.get("max_workers")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise InvalidArgument("max_workers must be an int >= 1, got %r" % (workers,))
        self._executor: futures.Executor | None = executor
        self._workers = (
            workers or getattr(executor, "_max_workers", None) or min(32, (os.cpu_count() or 1) + 4)
        )

    @property
    def max_workers(self) -> int:
        return int(self._workers)

    def _make_executor(self) -> tuple[futures.Executor | None, bool]:
        if self._executor is not None:
            return self._executor, False
        return futures.ThreadPoolExecutor(max_workers=self._workers), True
