"""TaskFlow's ``persistence_utils``: throw-away logbooks and flow details.

TaskFlow tests and scripts make a flow detail with ``temporary_flow_detail(backend)``
and hand it to ``engines.load(flow, flow_detail=fd, backend=backend)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recorder.persistence.base import Backend
from recorder.persistence.models import FlowDetail, LogBook, new_uuid, utcnow
from recorder.persistence.ops import SaveFlow, SaveLogbook


def temporary_log_book(backend: Backend | None = None) -> LogBook:
    """A new logbook named 'tmp', stored in ``backend`` when one is given."""
    book = LogBook(name="tmp")
    if backend is not None:
        backend.write([SaveLogbook(book.uuid, book.name, {}, utcnow())])
    return book


def temporary_flow_detail(
    backend: Backend | None = None, meta: Mapping[str, Any] | None = None
) -> tuple[LogBook, FlowDetail]:
    """A temporary logbook and a new flow detail in it (both stored when ``backend`` is given)."""
    book = LogBook(name="tmp")
    flow_detail = FlowDetail(name="tmp-flow-detail", uuid=new_uuid(), meta=dict(meta or {}))
    book.add(flow_detail)
    if backend is not None:  # both rows, as TaskFlow saves the book with its flow
        now = utcnow()
        backend.write(
            [
                SaveLogbook(book.uuid, book.name, {}, now),
                SaveFlow(flow_detail.uuid, book.uuid, flow_detail.name, None, {}, now),
            ]
        )
    return book, flow_detail


def create_flow_detail(
    flow: Any,
    book: LogBook | None = None,
    backend: Backend | None = None,
    meta: Mapping[str, Any] | None = None,
) -> FlowDetail:
    """A flow detail named after ``flow`` in ``book`` (a temporary one when None)."""
    if book is None:
        book = temporary_log_book(backend)
    flow_detail = FlowDetail(name=flow.name, uuid=new_uuid(), meta=dict(meta or {}))
    book.add(flow_detail)
    return flow_detail
