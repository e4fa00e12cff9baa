"""Typed reads of the recorder schema (SQLAlchemy Core), keyset-paginated.

Every read takes an open :class:`~sqlalchemy.engine.Connection` and returns
frozen records, so the caller decides about connections and transactions.
Lists page by keyset (newest first for flows: ``(created_at, uuid)``; by
``seq`` for transitions), never by OFFSET, so page N costs what page 1 costs.
Each query is shaped for an index of :mod:`recorder.persistence.schema`
(``bench/bench_queries.py`` prints their plans).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid as uuidlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import Select, String, Text, and_, cast, select, tuple_, type_coerce
from sqlalchemy.engine import Connection, RowMapping

from recorder.exceptions import AmbiguousFlow, FlowNotFound, InvalidArgument
from recorder.persistence import encoding
from recorder.persistence.schema import atom_details, flow_details, transitions
from recorder.query.model import JSON, iso

T = TypeVar("T")

DEFAULT_PAGE = 50
MAX_CANDIDATES = 10
_HEXISH = re.compile(r"^[0-9a-fA-F-]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class FlowRecord:
    """A flow_details row (``meta`` decoded)."""

    uuid: str
    name: str
    state: str | None
    logbook_uuid: str
    created_at: datetime
    updated_at: datetime | None
    meta: Mapping[str, Any]

    def to_json(self) -> JSON:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "state": self.state,
            "logbook_uuid": self.logbook_uuid,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class AtomRecord:
    """An atom_details row; ``failure`` is the stored failure dict (or None)."""

    uuid: str
    flow_uuid: str
    name: str
    kind: str
    state: str | None
    intention: str
    attempt: int
    meta: Mapping[str, Any]
    failure: Any
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class TransitionRecord:
    """A transitions row (``details`` as stored: small JSON)."""

    id: int
    flow_uuid: str
    atom_uuid: str | None
    kind: str
    name: str
    old_state: str | None
    new_state: str
    at: datetime
    seq: int
    attempt: int
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class FlowCursor:
    """Where a page of flows ended: pass it as ``after`` to get the next page.

    ``encode()`` gives a short token (for ``recorder flows --after``): the
    creation time in hex microseconds, a dot, the uuid without dashes.
    """

    created_at: datetime
    uuid: str

    def encode(self) -> str:
        micros = int((self.created_at - _EPOCH) / timedelta(microseconds=1))
        try:
            canonical = str(uuidlib.UUID(self.uuid)) == self.uuid
        except ValueError:
            canonical = False
        if canonical:
            ident = self.uuid.replace("-", "")
        else:
            ident = "~" + base64.urlsafe_b64encode(self.uuid.encode()).decode().rstrip("=")
        return "%x.%s" % (micros, ident)

    @classmethod
    def decode(cls, token: str) -> FlowCursor:
        try:
            stamp, ident = token.strip().split(".", 1)
            created = _EPOCH + timedelta(microseconds=int(stamp, 16))
            if ident.startswith("~"):
                padded = ident[1:] + "=" * (-len(ident[1:]) % 4)
                uuid = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
            else:
                uuid = str(uuidlib.UUID(hex=ident))
            return cls(created, uuid)
        except (ValueError, UnicodeError, binascii.Error, OverflowError):
            raise InvalidArgument("not a page token from `recorder flows`: %r" % token) from None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results; ``next`` is None on the last page."""

    items: tuple[T, ...]
    next: FlowCursor | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


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


def like_pattern(pattern: str) -> str | None:
    """A shell-style pattern (``*``, ``?``) as a LIKE pattern; None when it has no wildcard."""
    if "*" not in pattern and "?" not in pattern:
        return None
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def name_filter(column: Any, pattern: str) -> Any:
    """``column`` matches ``pattern``: equality (index-friendly) unless it has wildcards."""
    like = like_pattern(pattern)
    return column == pattern if like is None else column.like(like, escape="\\")


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(flow_details.c.created_at.desc(), flow_details.c.uuid.desc())


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
    if limit < 1:
        raise InvalidArgument("limit must be at least 1, got %d" % limit)
    c = flow_details.c
    stmt = select(flow_details)
    if name is not None:
        stmt = stmt.where(name_filter(c.name, name))
    if state is not None:
        wanted = [state] if isinstance(state, str) else list(state)
        stmt = stmt.where(c.state.in_([s.upper() for s in wanted]))
    if since is not None:
        stmt = stmt.where(c.created_at >= since)
    if until is not None:
        stmt = stmt.where(c.created_at < until)
    if after is not None:
        stmt = stmt.where(tuple_(c.created_at, c.uuid) < tuple_(after.created_at, after.uuid))
    rows = list(conn.execute(_newest_first(stmt).limit(limit + 1)).mappings())
    items = tuple(_flow(r) for r in rows[:limit])
    more = len(rows) > limit
    return Page(items, FlowCursor(items[-1].created_at, items[-1].uuid) if more else None)


def get_flow(conn: Connection, uuid: str) -> FlowRecord:
    """The flow with exactly this uuid; FlowNotFound if there is none."""
    row = conn.execute(select(flow_details).where(flow_details.c.uuid == uuid)).mappings().first()
    if row is None:
        raise FlowNotFound("no flow with uuid %s" % uuid)
    return _flow(row)


def _describe(flow: FlowRecord) -> str:
    return "%s %s %s (%s)" % (
        flow.uuid,
        flow.name,
        flow.state or "-",
        flow.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    )


def find_flow(conn: Connection, ident: str) -> FlowRecord:
    """Resolve what a user typed: a uuid, a unique uuid prefix, or a name (its latest run).

    Tried in that order. FlowNotFound when nothing matches; AmbiguousFlow when
    a prefix matches several flows (the message lists them).
    """
    ident = ident.strip()
    if not ident:
        raise FlowNotFound("no flow given: pass a uuid, a uuid prefix or a flow name")
    c = flow_details.c
    row = conn.execute(select(flow_details).where(c.uuid == ident)).mappings().first()
    if row is None:
        by_name = _newest_first(select(flow_details).where(c.name == ident)).limit(1)
        row = conn.execute(by_name).mappings().first()
    if row is not None:
        return _flow(row)
    if _HEXISH.match(ident):
        prefix = like_pattern(ident.lower() + "*")
        rows = conn.execute(
            _newest_first(select(flow_details).where(c.uuid.like(prefix, escape="\\"))).limit(
                MAX_CANDIDATES + 1
            )
        ).mappings()
        found = [_flow(r) for r in rows]
        if len(found) == 1:
            return found[0]
        if found:
            listed = "; ".join(_describe(f) for f in found[:MAX_CANDIDATES])
            more = " and more" if len(found) > MAX_CANDIDATES else ""
            raise AmbiguousFlow(
                "%r matches %s flows: %s%s; give more of the uuid"
                % (ident, len(found) if not more else "over %d" % MAX_CANDIDATES, listed, more)
            )
    raise FlowNotFound(
        "no flow matches %r (tried uuid, uuid prefix and name); `recorder flows` lists them" % ident
    )


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
    t = transitions.c
    stmt = (
        select(transitions).where(and_(t.flow_uuid == flow_uuid, t.seq > after_seq)).order_by(t.seq)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        TransitionRecord(
            id=r["id"],
            flow_uuid=r["flow_uuid"],
            atom_uuid=r["atom_uuid"],
            kind=r["kind"],
            name=r["name"],
            old_state=r["old_state"],
            new_state=r["new_state"],
            at=r["at"],
            seq=r["seq"],
            attempt=r["attempt"],
            details=r["details"] or {},
            prev_hash=r["prev_hash"],
            hash=r["hash"],
        )
        for r in conn.execute(stmt).mappings()
    ]


class TimelineRow(NamedTuple):
    """The columns a timeline needs, read without per-value type processing.

    ``details`` is the stored JSON text (parsed only for the rows that carry a
    result or failure); ``at`` is an aware UTC datetime.
    """

    atom_uuid: str | None
    kind: str
    name: str
    old_state: str | None
    new_state: str
    at: datetime
    seq: int
    attempt: int
    details: Any


class AtomName(NamedTuple):
    """An atom's identity and state: enough to list atoms that have not run yet."""

    name: str
    uuid: str
    kind: str
    state: str | None


def timeline_rows(conn: Connection, flow_uuid: str) -> list[TimelineRow]:
    """The flow's transitions in ``seq`` order, for :func:`~recorder.query.build_timeline`.

    Three times faster than :func:`transitions_of` on a big flow: the JSON
    stays text and SQLite's time text is parsed directly, skipping the
    column types' per-value processing (the timeline is the hot path of
    ``recorder timeline``).
    """
    t = transitions.c
    sqlite = conn.dialect.name == "sqlite"
    at = type_coerce(t.at, String) if sqlite else t.at
    stmt = (
        select(
            t.atom_uuid,
            t.kind,
            t.name,
            t.old_state,
            t.new_state,
            at,
            t.seq,
            t.attempt,
            cast(t.details, Text),
        )
        .where(t.flow_uuid == flow_uuid)
        .order_by(t.seq)
    )
    rows = conn.execute(stmt)
    if not sqlite:
        return [TimelineRow(*row) for row in rows]
    parse = datetime.fromisoformat
    return [
        TimelineRow(a, k, n, o, new, parse(when), seq, att, d)
        for a, k, n, o, new, when, seq, att, d in rows
    ]


def atom_names(conn: Connection, flow_uuid: str) -> list[AtomName]:
    """The flow's atoms (name, uuid, kind, state) in creation order, without their data."""
    a = atom_details.c
    stmt = (
        select(a.name, a.uuid, a.kind, a.state)
        .where(a.flow_uuid == flow_uuid)
        .order_by(a.created_at, a.name)
    )
    return [AtomName(*row) for row in conn.execute(stmt)]


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
