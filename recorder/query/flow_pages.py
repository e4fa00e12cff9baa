"""Flows from recorder's table or TaskFlow's: one found by what a user typed, or
newest first, one keyset page at a time.

Both tables have ``uuid``, ``name``, ``state`` and ``created_at``, so one query
serves both: a uuid, a unique uuid prefix or a name for :func:`find_flow_in`;
name pattern, states and creation window as filters, ``(created_at, uuid)`` as
the keyset for :func:`flow_page`. What differs is given by the caller: the
table, how a row becomes a :class:`~recorder.query.records.FlowRecord`, and how
a time is written for the table (TaskFlow stores naive UTC).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.engine import Connection, RowMapping

from recorder.exceptions import AmbiguousFlow, FlowNotFound, InvalidArgument
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


MAX_CANDIDATES = 10
"""Flows an ambiguous uuid prefix lists at most."""
_HEXISH = re.compile(r"^[0-9a-fA-F-]+$")


def find_flow_in(
    conn: Connection,
    table: Table,
    to_record: Callable[[RowMapping], FlowRecord],
    ident: str,
    *,
    what: str = "flow",
) -> FlowRecord:
    """Resolve what a user typed: a uuid, a name (its latest run) or a unique uuid prefix.

    Tried in that order. FlowNotFound when nothing matches; AmbiguousFlow when a
    prefix matches several flows (the message lists them). ``what`` names the
    flows in messages ("flow", "TaskFlow flow").
    """
    ident = ident.strip()
    if not ident:
        raise FlowNotFound(
            "no %s given: pass a uuid, a uuid prefix or a flow name" % what, query=ident
        )
    c = table.c
    row = conn.execute(select(table).where(c.uuid == ident)).mappings().first()
    if row is None:
        by_name = newest_first(select(table).where(c.name == ident), table).limit(1)
        row = conn.execute(by_name).mappings().first()
    if row is not None:
        return to_record(row)
    if _HEXISH.match(ident):
        prefix = like_pattern(ident.lower() + "*")
        by_prefix = select(table).where(c.uuid.like(prefix, escape="\\"))
        rows = conn.execute(newest_first(by_prefix, table).limit(MAX_CANDIDATES + 1))
        found = [to_record(r) for r in rows.mappings()]
        if len(found) == 1:
            return found[0]
        if found:
            more = len(found) > MAX_CANDIDATES
            raise AmbiguousFlow(
                "%r matches %s %ss: %s%s; give more of the uuid"
                % (
                    ident,
                    "over %d" % MAX_CANDIDATES if more else len(found),
                    what,
                    "; ".join(_describe(f) for f in found[:MAX_CANDIDATES]),
                    " and more" if more else "",
                ),
                query=ident,
                candidates=[f.uuid for f in found[:MAX_CANDIDATES]],
                more=more,
            )
    raise FlowNotFound(
        "no %s matches %r (tried uuid, uuid prefix and name); `recorder flows` lists them"
        % (what, ident),
        query=ident,
    )


def _describe(flow: FlowRecord) -> str:
    return "%s %s %s (%s)" % (
        flow.uuid,
        flow.name,
        flow.state or "-",
        flow.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    )


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
