"""Posting a flow as a job: store the flow first, then post a job that names it.

The flow is built by its factory (``module:function`` or a dotted name, as for
``engines.load_from_factory``) and stored PENDING with its store values and
the factory in its meta, so any worker can rebuild and run it from the
database alone. The job's details carry ``flow_uuid`` (and the logbook is the
job's book), which is what a worker reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recorder.jobs.base import JobPriority


def post_flow(
    board: Any,
    backend: Any,
    factory: str,
    *,
    name: str | None = None,
    store: Mapping[str, Any] | None = None,
    priority: JobPriority | str = JobPriority.NORMAL,
    factory_args: list[Any] | None = None,
    factory_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """Store the factory's flow (PENDING) on ``backend`` and post a job for it."""
    from recorder import engines
    from recorder.persistence.models import LogBook

    engine = engines.load_from_factory(
        factory,
        factory_args=factory_args,
        factory_kwargs=factory_kwargs,
        store=store,
        backend=backend,
    )
    try:
        detail = engine.storage.flow_detail
        book = None if detail.logbook_uuid is None else LogBook(detail.name, detail.logbook_uuid)
        return board.post(
            name or detail.name,
            book=book,
            details={"flow_uuid": detail.uuid},
            priority=priority,
        )
    finally:
        engine.close()
