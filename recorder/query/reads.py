"""Every SELECT of the query layer: typed reads of the recorder schema, keyset-paginated.

Every read takes an open :class:`~sqlalchemy.engine.Connection` and returns
frozen records, so the caller decides about connections and transactions.
Lists page by keyset (newest first for flows: ``(created_at, uuid)``; by
``seq`` for transitions), never by OFFSET, so page N costs what page 1 costs.
Each query is shaped for an index of :mod:`recorder.persistence.schema`
(``bench/bench_queries.py`` prints their plans).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, func, literal_column, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from recorder import states
from recorder.exceptions import FlowNotFound, StorageError
from recorder.persistence import encoding
from recorder.persistence.rows import TRAIL_META_KEY, StoredAtom, StoredFlow, TransitionRow
from recorder.persistence.schema import atom_details, flow_details, transitions
from recorder.persistence.trail_sql import read_trail
from recorder.query.flow_pages import find_flow_in, flow_page, name_filter, newest_first
from recorder.query.records import (
    AtomName,
    AtomRecord,
    FlowCursor,
    FlowRecord,
    Page,
    TimelineRow,
    TransitionRecord,
)

DEFAULT_PAGE = 50


def _flow(row: RowMapping) -> FlowRecord:
    return FlowRecord(
        uuid=row["uuid"],
        name=row["name"],
        state=row["state"],
        logbook_uuid=row["logbook_uuid"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        meta=encoding.decode_meta(row["meta"]),
    )


def _atom(row: RowMapping) -> AtomRecord:
    return AtomRecord(
        uuid=row["uuid"],
        flow_uuid=row["flow_uuid"],
        name=row["name"],
        kind=row["kind"],
        state=row["state"],
        intention=row["intention"],
        attempt=row["attempt"],
        meta=encoding.decode_meta(row["meta"]),
        failure=row["failure"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    return newest_first(stmt, flow_details)  # type: ignore[no-any-return]


def list_flows(
    conn: Connection,
    *,
    name: str | None = None,
    state: str | Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_PAGE,
    after: FlowCursor | None = None,
) -> Page[FlowRecord]:
    """Flows newest first, filtered by name pattern, state(s) and creation time window.

    ``since`` is inclusive, ``until`` exclusive. Pass the returned page's
    ``next`` as ``after`` for the following page.
    """
    return flow_page(
        conn,
        flow_details,
        _flow,
        name=name,
        state=state,
        since=since,
        until=until,
        limit=limit,
        after=after,
    )


def get_flow(conn: Connection, uuid: str) -> FlowRecord:
    """The flow with exactly this uuid; FlowNotFound if there is none."""
    row = conn.execute(select(flow_details).where(flow_details.c.uuid == uuid)).mappings().first()
    if row is None:
        raise FlowNotFound("no flow with uuid %s" % uuid, query=uuid)
    return _flow(row)


def find_flow(conn: Connection, ident: str) -> FlowRecord:
    """Resolve what a user typed: a uuid, a unique uuid prefix, or a name (its latest run).

    FlowNotFound when nothing matches; AmbiguousFlow when a prefix matches
    several flows (see :func:`~recorder.query.flow_pages.find_flow_in`).
    """
    return find_flow_in(conn, flow_details, _flow, ident)


def atoms_of(conn: Connection, flow_uuid: str) -> list[AtomRecord]:
    """The flow's atom_details rows in creation order."""
    stmt = (
        select(atom_details)
        .where(atom_details.c.flow_uuid == flow_uuid)
        .order_by(atom_details.c.created_at, atom_details.c.name)
    )
    return [_atom(r) for r in conn.execute(stmt).mappings()]


def transitions_of(
    conn: Connection, flow_uuid: str, *, after_seq: int = 0, limit: int | None = None
) -> list[TransitionRecord]:
    """The flow's transitions in ``seq`` order, those after ``after_seq`` (keyset paging)."""
    return read_trail(conn, flow_uuid, after_seq=after_seq, limit=limit)


def timeline_rows(conn: Connection, flow_uuid: str) -> list[TimelineRow]:
    """The flow's transitions in ``seq`` order, for :func:`~recorder.query.build_timeline`."""
    return read_trail(conn, flow_uuid)


def atom_names(conn: Connection, flow_uuid: str) -> list[AtomName]:
    """The flow's atoms (name, uuid, kind, state) in creation order, without their data."""
    a = atom_details.c
    stmt = (
        select(a.name, a.uuid, a.kind, a.state)
        .where(a.flow_uuid == flow_uuid)
        .order_by(a.created_at, a.name)
    )
    return [AtomName(*row) for row in conn.execute(stmt)]


def stored_failures(conn: Connection, flow_uuid: str) -> dict[str, tuple[Any, Any]]:
    """``{atom name: (failure, revert_failure)}`` for the flow's atoms that keep one."""
    a = atom_details.c
    stmt = select(a.name, a.failure, a.revert_failure).where(
        a.flow_uuid == flow_uuid, (a.failure.is_not(None)) | (a.revert_failure.is_not(None))
    )
    return {name: (failure, revert) for name, failure, revert in conn.execute(stmt)}


def has_transitions(conn: Connection, flow_uuid: str) -> bool:
    """Whether the audit trail has any row for the flow (else: rebuild from meta)."""
    t = transitions.c
    stmt = select(t.seq).where(t.flow_uuid == flow_uuid).order_by(t.seq).limit(1)
    return conn.execute(stmt).first() is not None


def iter_flow_uuids(conn: Connection, batch: int = 1000) -> Iterator[str]:
    """Every flow's uuid, in uuid order, fetched in keyset batches."""
    last = ""
    while True:
        stmt = (
            select(flow_details.c.uuid)
            .where(flow_details.c.uuid > last)
            .order_by(flow_details.c.uuid)
            .limit(batch)
        )
        uuids = [r[0] for r in conn.execute(stmt)]
        yield from uuids
        if len(uuids) < batch:
            return
        last = uuids[-1]


# -- what verify checks ---------------------------------------------------------


def snapshot(conn: Connection) -> Connection:
    """``conn`` reading one snapshot per transaction (a no-op inside a transaction).

    :func:`stored_flow` makes three reads; a flow committing a state change
    between them would look inconsistent. SQLite's read transaction is one
    snapshot already; PostgreSQL needs REPEATABLE READ.
    """
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _recorded(meta: Any) -> bool:
    if isinstance(meta, str):  # a JSON column read back as text
        try:
            meta = json.loads(meta)
        except ValueError as exc:  # SQLite keeps any text a hand put in a JSON column
            raise StorageError("cannot read stored JSON %.40r: %s" % (meta, exc)) from exc
    return encoding.decode_meta(meta).get(TRAIL_META_KEY) is True


def stored_flow(conn: Connection, flow_uuid: str) -> tuple[StoredFlow | None, list[TransitionRow]]:
    """What :func:`recorder.audit.verify_flow` checks: the flow as flow_details /
    atom_details hold it (None if absent), and its transitions rows in ``seq`` order."""
    f, a = flow_details.c, atom_details.c
    flow = conn.execute(
        select(f.uuid, f.name, f.state, f.meta).where(f.uuid == flow_uuid)
    ).one_or_none()
    atoms = conn.execute(
        select(a.uuid, a.name, a.kind, a.state, a.attempt)
        .where(a.flow_uuid == flow_uuid)
        .order_by(a.created_at, a.name)
    ).all()
    rows = read_trail(conn, flow_uuid)
    if flow is None:
        return None, rows
    stored = tuple(
        StoredAtom(row.uuid, row.name, row.kind, row.state, int(row.attempt or 0)) for row in atoms
    )
    return StoredFlow(flow.uuid, flow.name, flow.state, _recorded(flow.meta), stored), rows


# -- statistics: one row per attempt, folded by recorder.query.stats ---------------


def seconds_sql(dialect: str, end: Any, start: Any) -> ColumnElement[Any]:
    """SQL for the seconds between two time columns, exact to the microsecond.

    PostgreSQL: EXTRACT(EPOCH ...). SQLite: recorder's fixed-width UTC text,
    whole seconds by strftime('%s') plus the microsecond digits (chars 21-26).
    """
    if dialect == "postgresql":
        return func.extract("epoch", end - start)

    def part(col: Any, begin: int, length: int) -> Any:
        return func.substr(col, begin, length)

    whole = cast(func.strftime("%s", part(end, 1, 19)), Integer) - cast(
        func.strftime("%s", part(start, 1, 19)), Integer
    )
    micros = cast(part(end, 21, 6), Integer) - cast(part(start, 21, 6), Integer)
    return whole + micros / literal_column("1000000.0")


def attempts_query(
    dialect: str,
    *,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    exact: bool = False,
    flows: Any = None,
) -> Any:
    """One row per atom attempt (name, kind, atom_uuid, duration_s, failed, ...); ``flows``:
    a SELECT of the flow uuids the attempts must belong to (None: any flow)."""
    t = transitions.c
    state = t.new_state
    started = func.min(case((state == states.RUNNING, t.at)))
    ended = func.min(case((state.in_(sorted(states.EXECUTE_END_STATES)), t.at)))
    conditions = [t.kind != states.KIND_FLOW]
    if name is not None:
        conditions.append(t.name == name if exact else name_filter(t.name, name))
    if since is not None:
        conditions.append(t.at >= since)
    if until is not None:
        conditions.append(t.at < until)
    if flows is not None:
        conditions.append(t.flow_uuid.in_(flows))
    per_attempt = (
        select(
            t.name.label("name"),
            func.min(t.kind).label("kind"),
            t.atom_uuid.label("atom_uuid"),
            t.attempt.label("attempt"),
            started.label("started"),
            ended.label("ended"),
            func.max(case((state == states.FAILURE, 1), else_=0)).label("failed"),
            func.max(case((state == states.REVERTED, 1), else_=0)).label("reverted"),
        )
        .where(and_(*conditions))
        .group_by(t.name, t.atom_uuid, t.attempt)
        .subquery("per_attempt")
    )
    p = per_attempt.c
    return (
        select(
            p.name,
            p.kind,
            p.atom_uuid,
            p.failed,
            p.reverted,
            case(
                (p.ended.is_not(None), seconds_sql(dialect, p.ended, p.started)),
                else_=None,
            ).label("duration_s"),
        )
        .where(p.started.is_not(None))
        .order_by(p.name)
    )


def atom_names_matching(conn: Connection, name: str | None = None) -> list[str]:
    """The distinct atom names in the transitions (matching a name or pattern), sorted.

    Lets a caller compute statistics one name at a time -- each an index range
    scan -- and show progress over a big database, instead of one long query.
    """
    t = transitions.c
    stmt = select(t.name).where(t.kind != states.KIND_FLOW).distinct().order_by(t.name)
    if name is not None:
        stmt = stmt.where(name_filter(t.name, name))
    return [row[0] for row in conn.execute(stmt)]


def untracked_query(name: str | None, since: datetime | None, until: datetime | None) -> Any:
    """(flows, atoms) that ran (atoms past PENDING, matching ``name``) with no transitions
    rows, which stats cannot count; ``since``/``until`` filter on the flow's creation."""
    f, a, t = flow_details.c, atom_details.c, transitions.c
    where = [a.state != states.PENDING, ~select(t.id).where(t.flow_uuid == f.uuid).exists()]
    where += [name_filter(a.name, name)] if name is not None else []
    where += [f.created_at >= since] if since is not None else []
    where += [f.created_at < until] if until is not None else []
    joined = flow_details.join(atom_details, a.flow_uuid == f.uuid)
    counts = select(func.count(func.distinct(f.uuid)), func.count(a.uuid))
    return counts.select_from(joined).where(and_(*where))
