"""``CheckingClaimListener``: stop an engine whose job claim was lost.

TaskFlow's listener (same signature and behaviour): on every task, retry and
flow state change it checks that ``owner`` still holds ``job`` on ``board``;
if not, it calls ``on_job_loss(engine, state, details)``, by default suspending
the engine (once). A non-callable ``on_job_loss`` is refused.

On recorder's SQL board the check is one UPDATE that also renews the lease
(``board.extend``), where TaskFlow's costs two reads, and a heartbeat thread
renews the lease every third of it while a long task runs, so a live worker
keeps its job and a dead one loses it within one lease. A claim found lost by
the heartbeat is acted on at once (the engine is suspended before its next
atom starts). Other boards are checked as TaskFlow does (state, then owner).

Checks say whether the claim is held *now*; what keeps a worker that lost its
claim from corrupting stored state is the fence on its writes
(``SQLJobBoard.fence``), which the conductors install.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.exceptions import InvalidArgument, JobFailure, NotFound, RecorderError
from recorder.listeners.base import Details, Listener

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine

LOG = logging.getLogger(__name__)

OnJobLoss = Callable[[Any, Any, Any], Any]


class CheckingClaimListener(Listener):
    """Checks the engine's job is still claimed on each state change (see module)."""

    def __init__(
        self,
        engine: ActionEngine,
        job: Any,
        board: Any,
        owner: str,
        on_job_loss: OnJobLoss | None = None,
        heartbeat: float | None = None,
    ) -> None:
        super().__init__(engine)
        self._job = job
        self._board = board
        self._owner = owner
        if on_job_loss is None:
            self._on_job_loss: OnJobLoss = self._suspend_engine_on_loss
        elif not callable(on_job_loss):
            raise InvalidArgument("Custom 'on_job_loss' handler must be callable")
        else:
            self._on_job_loss = on_job_loss
        self._suspended = False
        self._lost = threading.Event()
        self._lock = threading.Lock()
        self.checks = 0
        lease = getattr(board, "lease", None)
        if heartbeat is None and lease is not None and hasattr(board, "extend"):
            heartbeat = float(lease) / 3.0
        self._heartbeat_every = heartbeat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """Whether a check (or the heartbeat) found the claim lost."""
        return self._lost.is_set()

    def _suspend_engine_on_loss(self, engine: Any, state: Any, details: Any) -> None:
        """The default handler: suspend the engine, once."""
        if self._suspended:
            return
        self._suspended = True
        try:
            engine.suspend()
        except RecorderError as exc:
            LOG.warning(
                "Failed suspending engine '%s', (previously owned by '%s'): %s",
                engine,
                self._owner,
                exc.pformat(),
            )

    def _flow_receiver(self, state: str, details: Details) -> None:
        self._claim_checker(state, details)

    def _task_receiver(self, state: str, details: Details) -> None:
        self._claim_checker(state, details)

    def _retry_receiver(self, state: str, details: Details) -> None:
        self._claim_checker(state, details)

    def _has_been_lost(self) -> bool:
        self.checks += 1
        try:
            if hasattr(self._board, "extend"):
                return not self._board.extend(self._job, self._owner)
            job_state = self._job.state
            job_owner = self._board.find_owner(self._job)
        except (NotFound, JobFailure):
            return True
        return bool(job_state == states.UNCLAIMED or self._owner != job_owner)

    def _claim_checker(self, state: Any, details: Any) -> None:
        if not self._has_been_lost():
            LOG.debug("Job '%s' is still claimed (actively owned by '%s')", self._job, self._owner)
            return
        LOG.warning(
            "Job '%s' has lost its claim (previously owned by '%s')", self._job, self._owner
        )
        self._lost.set()
        with self._lock:
            self._on_job_loss(self._engine, state, details)

    # -- heartbeat ---------------------------------------------------------------

    def register(self) -> None:
        super().register()
        if self._heartbeat_every and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name="claim-heartbeat-%s" % self._job.uuid, daemon=True
            )
            self._thread.start()

    def deregister(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        super().deregister()

    def _beat(self) -> None:
        every = self._heartbeat_every or 1.0
        while not self._stop.wait(every):
            try:
                held = bool(self._board.extend(self._job, self._owner, record=True))
            except (NotFound, JobFailure):
                held = False
            except Exception:  # a database hiccup: the next beat or check decides
                LOG.warning("Heartbeat of job '%s' failed", self._job, exc_info=True)
                continue
            if not held:
                LOG.warning("Heartbeat: job '%s' lost its claim ('%s')", self._job, self._owner)
                self._lost.set()
                with self._lock:
                    self._on_job_loss(self._engine, None, {"heartbeat": True})
                return
