"""Flows newest first, one keyset page at a time, from recorder's table or TaskFlow's.

Both tables have ``uuid``, ``name``, ``state`` and ``created_at``, so one query
serves both: name pattern, states and creation window as filters, ``(created_at,
uuid)`` as the keyset. What differs is given by the caller: the table, how a row
becomes a :class:`~recorder.query.records.FlowRecord`, and how a time is written
for the table (TaskFlow stores naive UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.engine import Connection, RowMapping

from recorder.exceptions import InvalidArgument
from recorder.query.records import FlowCursor, FlowRecord, Page


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


def newest_first(stmt: Any, table: Table) -> Any:
    return stmt.order_by(table.c.created_at.desc(), table.c.uuid.desc())


def flow_page(
    conn: Connection,
    table: Table,
    to_record: Callable[[RowMapping], FlowRecord],
    *,
    name: str | None,
    state: str | Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: FlowCursor | None,
    db_time: Callable[[datetime], datetime] = lambda t: t,
) -> Page[FlowRecord]:
    """One page of ``table``'s flows, newest first (``since`` inclusive, ``until`` not)."""
    if limit < 1:
        raise InvalidArgument("limit must be at least 1, got %d" % limit)
    c = table.c
    stmt = select(table)
    if name is not None:
        stmt = stmt.where(name_filter(c.name, name))
    if state is not None:
        wanted = [state] if isinstance(state, str) else list(state)
        stmt = stmt.where(c.state.in_([s.upper() for s in wanted]))
    if since is not None:
        stmt = stmt.where(c.created_at >= db_time(since))
    if until is not None:
        stmt = stmt.where(c.created_at < db_time(until))
    if after is not None:
        cursor = tuple_(db_time(after.created_at), after.uuid)
        stmt = stmt.where(tuple_(c.created_at, c.uuid) < cursor)
    rows = list(conn.execute(newest_first(stmt, table).limit(limit + 1)).mappings())
    items = tuple(to_record(r) for r in rows[:limit])
    more = len(rows) > limit
    return Page(items, FlowCursor(items[-1].created_at, items[-1].uuid) if more else None)
