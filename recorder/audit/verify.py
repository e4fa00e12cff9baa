""":func:`verify_flow`: the one check of a recorded flow, from a backend or a database.

The chain (:mod:`.chain`) proves a trail's rows are intact; the stored state
held against the trail (:mod:`.consistency`) catches rows cut off its end; an
``expected_head`` kept somewhere else (``recorder verify --save-heads``,
:mod:`.heads`) catches a forger who recomputes every hash after a change.
Rows are read in ``seq`` order, as every reader of the trail reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recorder.audit.chain import VerifyResult, verify_chain
from recorder.audit.consistency import check_states, stored_from_detail
from recorder.exceptions import InvalidArgument
from recorder.persistence.rows import StoredFlow, TransitionRow


def verify_flow(
    source: Any, flow_uuid: str, expected_head: tuple[int, str] | None = None
) -> VerifyResult:
    """Check ``flow_uuid`` as recorded in ``source``: its chain, then its stored state.

    :func:`~recorder.audit.chain.verify_chain` first (with ``expected_head`` when
    given), then :func:`~recorder.audit.consistency.check_states`: flow and atom
    states and attempt counts must be what the trail's last rows say, and a flow
    whose meta says it was recorded must have a trail. ``source``: a
    :class:`~recorder.persistence.memory.MemoryBackend`, a database URL (opened
    with :func:`recorder.persistence.connect`, so a database without the schema
    is refused), an SQLAlchemy Engine or Connection, or an object with such an
    ``engine`` attribute (the SQL backend; flushed first). Raises NotFound when
    the flow is neither stored nor has rows.
    """
    flow, rows = read_flow(source, flow_uuid)
    chain = verify_chain(rows, expected_head)
    if not chain.ok:
        return chain
    return check_states(flow_uuid, flow, rows, chain)


def read_transitions(source: Any, flow_uuid: str) -> Sequence[TransitionRow]:
    """A flow's transition rows in ``seq`` order (any source :func:`verify_flow` takes)."""
    return read_flow(source, flow_uuid)[1]


def read_flow(source: Any, flow_uuid: str) -> tuple[StoredFlow | None, list[TransitionRow]]:
    """What :func:`verify_flow` checks: the stored flow (None if absent) and its rows."""
    flows = getattr(source, "flows", None)
    if isinstance(flows, dict) and callable(getattr(source, "load_transitions", None)):
        detail = flows.get(flow_uuid)  # a MemoryBackend: its records as they are
        stored = None if detail is None else stored_from_detail(detail)
        return stored, source.load_transitions(flow_uuid)
    return _read_sql(source, flow_uuid)


def _read_sql(source: Any, flow_uuid: str) -> tuple[StoredFlow | None, list[TransitionRow]]:
    # SQLAlchemy is imported only when a database is asked for.
    from sqlalchemy.engine import URL, Connection, Engine

    from recorder.query.reads import snapshot, stored_flow

    if isinstance(source, (str, URL)):
        from recorder.persistence import connect

        with connect(source) as backend, backend.engine.connect() as conn:
            return stored_flow(snapshot(conn), flow_uuid)
    bind: Any = source
    if not isinstance(source, (Engine, Connection)):
        flush = getattr(source, "flush", None)
        if callable(flush):  # a batched backend may still hold rows
            flush()
        bind = getattr(source, "engine", None)
        if not isinstance(bind, (Engine, Connection)):
            raise InvalidArgument(
                "cannot read transitions from %r: give a MemoryBackend, a database URL, "
                "an SQLAlchemy Engine/Connection or a backend with an 'engine'" % (source,)
            )
    if isinstance(bind, Connection):
        return stored_flow(bind, flow_uuid)
    with bind.connect() as conn:
        return stored_flow(snapshot(conn), flow_uuid)
