"""Reads of TaskFlow's own SQL tables (``flowdetails``, ``atomdetails``), as recorder's records.

TaskFlow's SQLAlchemy backend keeps one row per flow run and one per atom, each
with a ``meta`` JSON (text on SQLite, ``json`` on PostgreSQL) where its timing
listeners leave ``<STATE>-timestamp`` and ``duration``: the latest of each,
overwritten on every attempt. What survives of earlier attempts is in the retry
atoms: ``RetryDetail.results`` holds one ``[result, {atom name: failure}]`` pair
per attempt of the retry, so it tells how often the atoms that failed under it
ran, and with what failure each time (but not when).

:func:`atoms_of` turns that into ``AtomRecord.attempt``: a retry's attempts are
its history's length; an atom that failed under a retry ran in every attempt of
the retry from the one of its first failure to the last. An atom a retry re-ran
without it failing leaves no trace: it counts one attempt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, cast, select
from sqlalchemy.engine import Connection, RowMapping

from recorder import states
from recorder.persistence.coexist import has_taskflow_tables
from recorder.query.flow_pages import find_flow_in, flow_page, newest_first
from recorder.query.records import AtomRecord, FlowCursor, FlowRecord, Page

__all__ = ["RetryAttempt", "atoms_of", "find_flow", "has_taskflow_tables", "list_flows"]

_META = MetaData()
flowdetails = Table(
    "flowdetails",
    _META,
    Column("uuid", String(64), primary_key=True),
    Column("parent_uuid", String(64)),
    Column("name", String(255)),
    Column("state", String(255)),
    Column("meta", Text),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
)
atomdetails = Table(
    "atomdetails",
    _META,
    Column("uuid", String(64), primary_key=True),
    Column("parent_uuid", String(64)),
    Column("name", String(255)),
    Column("atom_type", String(255)),
    Column("state", String(255)),
    Column("intention", String(255)),
    Column("meta", Text),
    Column("failure", Text),
    Column("results", Text),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
)

RETRY_DETAIL = "RETRY_DETAIL"
# An enum (atom_types) on PostgreSQL: compared as text.
IS_RETRY = cast(atomdetails.c.atom_type, String) == RETRY_DETAIL


@dataclass(frozen=True)
class RetryAttempt:
    """One attempt of a retry atom, from ``RetryDetail.results``: its result and the
    failures (by atom name, TaskFlow's failure dicts) that made it try again."""

    retry: str
    attempt: int
    failures: Mapping[str, Any]


def decode_json(value: Any) -> Any:
    """A JSON column's value: text on SQLite is parsed, PostgreSQL's json comes decoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _flow(row: RowMapping) -> FlowRecord:
    meta = decode_json(row["meta"])
    return FlowRecord(
        uuid=row["uuid"],
        name=row["name"] or "",
        state=row["state"],
        logbook_uuid=row["parent_uuid"] or "",
        created_at=_aware(row["created_at"]) or datetime.fromtimestamp(0, timezone.utc),
        updated_at=_aware(row["updated_at"]),
        meta=meta if isinstance(meta, dict) else {},
    )


def _newest_first(stmt: Any) -> Any:
    return newest_first(stmt, flowdetails)


def _naive_utc(t: datetime) -> datetime:
    """A time as TaskFlow stores it: naive UTC."""
    return t.astimezone(timezone.utc).replace(tzinfo=None)


def list_flows(
    conn: Connection,
    *,
    name: str | None = None,
    state: str | list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    after: FlowCursor | None = None,
) -> Page[FlowRecord]:
    """TaskFlow's flow details newest first, filtered as :func:`recorder.query.reads.list_flows`."""
    return flow_page(
        conn,
        flowdetails,
        _flow,
        name=name,
        state=state,
        since=since,
        until=until,
        limit=limit,
        after=after,
        db_time=_naive_utc,
    )


def find_flow(conn: Connection, ident: str) -> FlowRecord:
    """A uuid, a name (its latest run) or a unique uuid prefix, as ``recorder`` takes them."""
    return find_flow_in(conn, flowdetails, _flow, ident, what="TaskFlow flow")


def retry_attempts(results: Any, retry: str) -> list[RetryAttempt]:
    """A retry's history (``RetryDetail.results``), one entry per attempt."""
    history = results if isinstance(results, list) else []
    out = []
    for number, entry in enumerate(history, start=1):
        failures = entry[1] if isinstance(entry, list) and len(entry) > 1 else {}
        out.append(RetryAttempt(retry, number, failures if isinstance(failures, dict) else {}))
    return out


def flow_retries(conn: Connection, flow_uuid: str) -> list[RetryAttempt]:
    """Every attempt of every retry atom of the flow, from ``RetryDetail.results``."""
    c = atomdetails.c
    stmt = select(c.name, c.results).where(c.parent_uuid == flow_uuid, IS_RETRY)
    out: list[RetryAttempt] = []
    for row in conn.execute(stmt.order_by(c.created_at, c.name)):
        out.extend(retry_attempts(decode_json(row.results), str(row.name)))
    return out


def attempts_by_atom(history: list[RetryAttempt]) -> dict[str, int]:
    """How many times each atom ran, as far as the retries' histories tell."""
    counts: dict[str, int] = {}
    by_retry: dict[str, int] = {}
    for entry in history:
        by_retry[entry.retry] = max(by_retry.get(entry.retry, 0), entry.attempt)
    for entry in history:
        total = by_retry[entry.retry]
        counts[entry.retry] = total
        for atom in entry.failures:
            counts[atom] = max(counts.get(atom, 0), total - entry.attempt + 1)
    return counts


def atoms_of(conn: Connection, flow_uuid: str) -> list[AtomRecord]:
    """The flow's atom details, ``attempt`` counted from the retries' histories."""
    c = atomdetails.c
    stmt = select(atomdetails).where(c.parent_uuid == flow_uuid).order_by(c.created_at, c.name)
    rows = list(conn.execute(stmt).mappings())
    counts = attempts_by_atom(flow_retries(conn, flow_uuid))
    atoms = []
    for row in rows:
        meta = decode_json(row["meta"])
        ran = row["state"] not in states.UNSTARTED_STATES
        name = row["name"] or ""
        atoms.append(
            AtomRecord(
                uuid=row["uuid"],
                flow_uuid=flow_uuid,
                name=name,
                kind=states.KIND_RETRY if row["atom_type"] == RETRY_DETAIL else states.KIND_TASK,
                state=row["state"],
                intention=row["intention"] or states.EXECUTE,
                attempt=counts.get(name, 1 if ran else 0),
                meta=meta if isinstance(meta, dict) else {},
                failure=decode_json(row["failure"]),
                created_at=_aware(row["created_at"]) or datetime.fromtimestamp(0, timezone.utc),
                updated_at=_aware(row["updated_at"]),
            )
        )
    return atoms
