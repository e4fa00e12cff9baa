"""Running one claimed job: load its stored flow, run it fenced by the claim, and
decide what becomes of the job (TaskFlow's conductor rules, plus leases).

* The flow is rebuilt from the job's stored flow (``details['flow_uuid']``):
  its recorded factory and stored results, as ``recorder resume`` does, so
  atoms that finished under a previous owner are not run again.
* The run writes through a backend fenced by the claim
  (``SQLJobBoard.fence``): once the claim is lost, no write for the flow
  commits; the :class:`~recorder.listeners.claims.CheckingClaimListener`
  suspends the engine and the job is left to its new owner.
* Outcome: flow ended (SUCCESS, REVERTED, FAILURE, or it raised) -> consume;
  suspended (stop requested) or a storage failure -> abandon, so another
  worker takes it at once; the job cannot be run (no stored flow, factory
  missing) or has been claimed more than ``max_claims`` times (it keeps
  killing its workers: TaskFlow's "endless cycling") -> trash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from recorder import states
from recorder.exceptions import ClaimLost, RecorderError, StorageError

LOG = logging.getLogger(__name__)

CONSUME = "consume"
ABANDON = "abandon"
TRASH = "trash"
LOST = "lost"


def _caused_by_lost_claim(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, ClaimLost) or "ClaimLost" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def run_job(
    job: Any,
    board: Any,
    owner: str,
    open_backend: Callable[[], Any],
    *,
    engine_kind: str,
    engine_options: dict[str, Any],
    max_claims: int,
    stopping: threading.Event,
    notify: Callable[[str, dict[str, Any]], None],
) -> str:
    """Run ``job`` (claimed by ``owner``) and return CONSUME, ABANDON, TRASH or LOST."""
    import recorder
    from recorder import engines
    from recorder.listeners.claims import CheckingClaimListener

    claims = int(getattr(job, "claims", 0) or 0)
    if max_claims and claims > max_claims:
        LOG.warning("job %s claimed %d times (more than %d): trashing it", job, claims, max_claims)
        return TRASH
    flow_uuid = job.details.get("flow_uuid") or getattr(job, "flow_uuid", None)
    if not flow_uuid:
        LOG.warning("job %s names no stored flow (details['flow_uuid']): trashing it", job)
        return TRASH
    backend = open_backend()
    try:
        if hasattr(backend, "set_fence") and hasattr(board, "fence"):
            backend.set_fence(board.fence(job, owner))
        try:
            detail = backend.load_flow(str(flow_uuid))
        except StorageError:
            return ABANDON
        except RecorderError:
            LOG.warning("job %s: its flow %s is not stored: trashing it", job, flow_uuid)
            return TRASH
        if detail.state == states.SUCCESS:
            return CONSUME
        try:
            engine = engines.load_from_detail(
                detail,
                store=job.details.get("store"),
                backend=backend,
                engine=engine_kind,
                **engine_options,
            )
        except StorageError as exc:
            return LOST if _caused_by_lost_claim(exc) else ABANDON
        except RecorderError:
            LOG.warning(
                "job %s: flow %s cannot be rebuilt: trashing it", job, flow_uuid, exc_info=True
            )
            return TRASH
        listener = CheckingClaimListener(engine, job, board, owner)
        details = {"job": job, "engine": engine, "owner": owner}
        notify("running_start", details)
        try:
            with listener, recorder.record(engine):
                suspended = False
                for _state in engine.run_iter():
                    if stopping.is_set() and not suspended:
                        engine.suspend()
                        suspended = True
        except Exception as exc:
            if listener.lost or _caused_by_lost_claim(exc):
                return LOST
            if isinstance(exc, StorageError):
                LOG.warning("job %s: storage failed, abandoning it", job, exc_info=True)
                return ABANDON
            LOG.warning("job %s: flow failed (consuming the job)", job, exc_info=True)
            return CONSUME
        finally:
            notify("running_end", details)
        if listener.lost:
            return LOST
        if engine.storage.get_flow_state() == states.SUSPENDED:
            return ABANDON
        return CONSUME
    finally:
        try:
            backend.close()
        except StorageError as exc:
            LOG.warning("job %s: closing its backend: %s", job, exc)
