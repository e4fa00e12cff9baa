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
from collections.abc import Generator
from concurrent import futures
from typing import Any

from recorder import states
from recorder import task as task_module
from recorder.engines.action_engine.machine import Machine
from recorder.engines.action_engine.runner import Runner, RunSetup
from recorder.engines.compiler import Compilation, resolve_arguments
from recorder.exceptions import AlreadyRunning, InvalidArgument
from recorder.notifier import Notifier
from recorder.storage import Storage

# TaskFlow's names for its thread-pool executor (its 'greenthread' ones need eventlet).
EXECUTOR_STRINGS = frozenset({"thread", "threads", "threaded"})


def _truthy(value: Any) -> bool:
    """An option as TaskFlow reads it (strutils.bool_from_string): '1', 'true', 'yes', 'on'."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "on", "y", "yes")
    return bool(value)


class InvalidExecutor(InvalidArgument, TypeError):
    """The ``executor`` option is neither an Executor nor one of EXECUTOR_STRINGS."""


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
        self._statistics: dict[str, Any] = {}
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
    def _flow(self) -> Any:
        """The flow (or atom) this engine runs, under TaskFlow's private name."""
        return self._compilation.flow

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

    @property
    def statistics(self) -> dict[str, Any]:
        """Figures of the last run: ``active_for`` (seconds), ``completed`` (atoms)."""
        return self._statistics

    def compile(self) -> None:
        """Kept for TaskFlow compatibility: loading already compiled the flow."""

    def prepare(self) -> None:
        """Make the flow runnable again: a REVERTED flow is reset to PENDING."""
        if self._storage.get_flow_state() == states.REVERTED:
            self.reset()

    def validate(self) -> None:
        """Check that every atom's requirements can be met (MissingDependencies if not),
        from the store as it is now and from the atoms that run before it."""
        resolve_arguments(self._compilation, self._storage.store)

    def reset(self) -> None:
        """Move every atom back to PENDING (results and failures cleared), then the flow."""
        Runner(self._run_setup(), None).reset_all()

    def suspend(self) -> None:
        """Ask a running engine to stop starting atoms; ``run()`` returns once they finish."""
        self._suspend.set()

    def run(self) -> None:
        """Run the flow until it ends or is suspended; re-raise what made it fail."""
        if not self._run_lock.acquire(blocking=False):
            raise AlreadyRunning("engine for flow %r is already running" % self._storage.flow_name)
        try:
            for _state in self._iterate(yield_states=False):
                pass
        finally:
            self._run_lock.release()

    def run_iter(self) -> Generator[str, Any, None]:
        """Run the flow step by step, yielding the engine's states (RESUMING,
        SCHEDULING, WAITING, ANALYZING, ..., then SUCCESS, REVERTED, FAILURE or
        SUSPENDED); ``send(True)`` suspends the run."""
        return self._iterate(yield_states=True)

    def _iterate(self, yield_states: bool) -> Generator[str, Any, None]:
        self.compile()
        self.prepare()
        self.validate()
        self._suspend.clear()
        executor, shutdown = self._make_executor()
        try:
            runner = Runner(self._run_setup(), executor)
            yield from Machine(runner, self._statistics).iterate(yield_states)
        finally:
            if shutdown and executor is not None:
                executor.shutdown(wait=True)
            backend = self._storage.backend
            if backend is not None:
                backend.flush()

    def _run_setup(self) -> RunSetup:
        return RunSetup(
            compilation=self._compilation,
            storage=self._storage,
            notifier=self._notifier,
            atom_notifier=self._atom_notifier,
            announcer=self,
            max_workers=self.max_workers,
            suspend_requested=self._suspend.is_set,
            suspend=self.suspend,
            defer_reverts=_truthy(self._options.get("defer_reverts", False)),
        )

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
        """A task reported progress: store it with its details (TaskFlow's
        ``progress_details``); the engine's own 0.0/1.0 reports are stored already."""
        progress = details.get("progress", 0.0)
        extra = {k: v for k, v in details.items() if k != "progress"}
        if not extra and self._storage.get_task_progress(name) == progress:
            return
        self._storage.set_task_progress(name, progress, details=extra)


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
        if isinstance(executor, str):
            if executor.lower() not in EXECUTOR_STRINGS:
                raise InvalidArgument(
                    "Unknown executor string '%s' expected one of %s (or mixed case equivalent)"
                    % (executor, sorted(EXECUTOR_STRINGS))
                )
            executor = None  # a thread pool of our own, per run
        elif executor is not None and not isinstance(executor, futures.Executor):
            raise InvalidExecutor(
                "Unknown executor '%s' (%s) expected an instance of %s"
                % (executor, type(executor), [futures.Executor])
            )
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
