"""Conductors (workers): claim jobs from a board, run their flows, finish the jobs.

TaskFlow's conductor shape (``run(max_dispatches=None)``, ``stop()``,
``wait(timeout)``, ``connect()``/``close()``, a ``notifier`` with
``job_consumed``/``job_abandoned``/``job_trashed``, ``running_start``/``_end``),
on recorder's SQL board: the next job is taken with one ``SKIP LOCKED`` claim,
each job runs as :func:`recorder.conductors.dispatch.run_job` says, and the
claim owner is a unique name (:func:`~recorder.conductors.naming.unique_owner`)
so no two workers ever share a claim. ``stop()`` (the CLI calls it on
SIGTERM) suspends the running flows at their next state change and abandons
their jobs, so another worker takes them over at once instead of after a lease.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent import futures
from typing import Any

from recorder.conductors import dispatch
from recorder.conductors.naming import unique_owner
from recorder.exceptions import InvalidArgument, JobFailure, NotFound, UnclaimableJob
from recorder.notifier import Notifier

LOG = logging.getLogger(__name__)

DEFAULT_MAX_CLAIMS = 5
WAIT_STEP = 0.5


class Conductor:
    """Claims and runs jobs until stopped; ``max_simultaneous_jobs`` at once."""

    ENTITY_KIND = "conductor"

    def __init__(
        self,
        name: str,
        jobboard: Any,
        persistence: Any = None,
        engine: str | None = None,
        engine_options: dict[str, Any] | None = None,
        wait_timeout: float | None = None,
        max_simultaneous_jobs: int = 1,
        *,
        max_claims: int = DEFAULT_MAX_CLAIMS,
        idle_exit: float | None = None,
        mode: str = "durable",
    ) -> None:
        if not name:
            raise InvalidArgument("a conductor needs a non-empty name")
        self._name = name
        self.owner = unique_owner(name)
        self._board = jobboard
        self._persistence = persistence
        self._engine_kind = engine or "serial"
        self._engine_options = dict(engine_options or {})
        self._wait_timeout = WAIT_STEP if wait_timeout is None else float(wait_timeout)
        self._max_jobs = max(1, int(max_simultaneous_jobs))
        self._max_claims = int(max_claims)
        self._idle_exit = idle_exit
        self._mode = mode
        self._stopping = threading.Event()
        self._dead = threading.Event()
        self._dead.set()
        self.notifier = Notifier()
        self.outcomes: dict[str, int] = {}
        self._job_engine: Any = None
        self._owns_job_engine = True
        self._outcomes_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dispatching(self) -> bool:
        return not self._dead.is_set()

    def connect(self) -> None:
        """Connect the board, and open the database the flows are run on once: each
        job gets a backend of its own (its write fence) on that one engine."""
        from recorder.persistence import connect, db

        self._board.connect()
        source = self._persistence
        if isinstance(source, str):
            if self._job_engine is None:
                self._job_engine = db.create_db_engine(source)
            connect(self._job_engine).close()  # the schema is checked once, here
        elif source is not None and hasattr(source, "engine"):
            self._job_engine = source.engine  # an SQLBackend: its pool, our own writers
            self._owns_job_engine = False

    def close(self) -> None:
        engine, self._job_engine = self._job_engine, None
        if engine is not None and self._owns_job_engine:
            engine.dispose()
        self._board.close()

    def stop(self) -> None:
        """Stop claiming; running flows suspend at their next state, their jobs are abandoned."""
        self._stopping.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once :meth:`run` has returned (False if ``timeout`` passes first)."""
        return self._dead.wait(timeout)

    # -- the loop ----------------------------------------------------------------

    def _open_backend(self) -> Any:
        from recorder.persistence import connect

        if self._job_engine is not None:
            return connect(self._job_engine, mode=self._mode, check_schema=False)
        if self._persistence is None:
            return connect(self._board.engine, mode=self._mode, check_schema=False)
        return connect(self._persistence, mode=self._mode)  # a URL, not connected first

    def _claim_next(self) -> Any:
        if hasattr(self._board, "claim_next"):
            return self._board.claim_next(self.owner)
        for job in self._board.iterjobs(only_unclaimed=True):
            try:
                self._board.claim(job, self.owner)
            except (UnclaimableJob, NotFound):
                continue
            return job
        return None

    def _count(self, outcome: str) -> None:
        with self._outcomes_lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _dispatch(self, job: Any) -> None:
        try:
            outcome = dispatch.run_job(
                job,
                self._board,
                self.owner,
                self._open_backend,
                engine_kind=self._engine_kind,
                engine_options=self._engine_options,
                max_claims=self._max_claims,
                stopping=self._stopping,
                notify=self.notifier.notify,
            )
        except Exception:
            LOG.warning("Job dispatching failed: %s", job, exc_info=True)
            outcome = dispatch.TRASH
        self._finish(job, outcome)

    def _finish(self, job: Any, outcome: str) -> None:
        self._count(outcome)
        if outcome == dispatch.LOST:
            LOG.warning("claim of %s on %s was lost: leaving it to its new owner", self.owner, job)
            return
        action = {
            dispatch.CONSUME: (self._board.consume, "job_consumed"),
            dispatch.ABANDON: (self._board.abandon, "job_abandoned"),
            dispatch.TRASH: (self._board.trash, "job_trashed"),
        }[outcome]
        try:
            action[0](job, self.owner)
        except (JobFailure, NotFound):
            LOG.warning("Failed to %s job %s", outcome, job, exc_info=True)
            return
        self.notifier.notify(action[1], {"job": job, "conductor": self})

    def run(self, max_dispatches: int | None = None) -> None:
        """Claim and run jobs until :meth:`stop`, ``max_dispatches`` jobs, or idle exit."""
        self._dead.clear()
        self._stopping.clear()
        dispatched = 0
        idle_since = time.monotonic()
        running: set[futures.Future[None]] = set()
        pool = futures.ThreadPoolExecutor(self._max_jobs, thread_name_prefix="job")
        try:
            while not self._stopping.is_set():
                if max_dispatches is not None and dispatched >= max_dispatches:
                    break
                running = {f for f in running if not f.done()}
                if running:
                    idle_since = time.monotonic()
                if len(running) < self._max_jobs:
                    job = self._claim_next()
                    if job is not None:
                        dispatched += 1
                        idle_since = time.monotonic()
                        if self._max_jobs == 1:
                            self._dispatch(job)
                        else:
                            running.add(pool.submit(self._dispatch, job))
                        continue
                elif running:
                    futures.wait(running, timeout=self._wait_timeout, return_when="FIRST_COMPLETED")
                    continue
                if self._idle_exit is not None and time.monotonic() - idle_since >= self._idle_exit:
                    break
                with contextlib.suppress(NotFound):
                    self._board.wait(timeout=self._wait_timeout)
        finally:
            pool.shutdown(wait=True)
            self._dead.set()
