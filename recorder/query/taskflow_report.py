"""A TaskFlow-written flow's post-mortem and per-atom statistics, from its meta and retries.

The timeline is rebuilt from meta by :func:`recorder.query.from_meta.timeline_from_meta`
(the same rules as for recorder's own meta-only flows); this module adds what
TaskFlow's tables keep beyond it -- attempt counts and earlier failures from
``RetryDetail.results`` -- and says plainly what they cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.engine import Connection

from recorder import states
from recorder.listeners.timing import DURATION_KEY
from recorder.query.critical_path import critical_path
from recorder.query.failures import failures_from_timeline
from recorder.query.flow_pages import name_filter
from recorder.query.from_meta import failure_summary, timeline_from_meta
from recorder.query.load import FlowReport
from recorder.query.records import FlowRecord
from recorder.query.stats import AtomStats, percentile
from recorder.query.taskflow_db import (
    RETRY_DETAIL,
    RetryAttempt,
    atomdetails,
    atoms_of,
    attempts_by_atom,
    decode_json,
    flowdetails,
    retry_attempts,
)

SOURCE_TASKFLOW = "taskflow"

TASKFLOW_UNKNOWN = (
    "how often a retry re-ran atoms that did not fail (TaskFlow keeps one row per atom)",
)
_REPLACED = {
    # from_meta's caveat, said of TaskFlow's tables: retries' histories keep some.
    "failure details of earlier attempts (atom_details keeps the latest failure only)": (
        "failure details of earlier attempts beyond what retries' histories keep "
        "(atomdetails keeps the latest failure only)"
    ),
}

STATS_NOTE = (
    "from TaskFlow's tables: durations are of each atom's latest attempt only\n"
    "(meta 'duration' is overwritten); earlier attempts come from retries' histories"
)


def earlier_failures(history: Sequence[RetryAttempt]) -> list[str]:
    """One line per failure a retry's history keeps (their times are not kept)."""
    first: dict[str, int] = {}
    for entry in history:
        for atom in entry.failures:
            first.setdefault(atom, entry.attempt)
    lines = []
    for entry in history:
        for atom, failure in entry.failures.items():
            summary = failure_summary(failure).get("failure", {"type": "?", "message": ""})
            lines.append(
                "when %s attempt %d failed with %s: %s (kept by retry %s, without its time)"
                % (
                    atom,
                    entry.attempt - first[atom] + 1,
                    summary["type"],
                    summary["message"],
                    entry.retry,
                )
            )
    return lines


def load_report(conn: Connection, flow: FlowRecord, now: datetime | None = None) -> FlowReport:
    """What ``recorder show``/``timeline`` print, for a flow in TaskFlow's tables."""
    atoms = atoms_of(conn, flow.uuid)
    history = [
        attempt
        for atom in atoms
        if atom.kind == states.KIND_RETRY
        for attempt in _history_of(conn, atom.uuid, atom.name)
    ]
    timeline = timeline_from_meta(flow, atoms, now=now or datetime.now(timezone.utc))
    said = tuple(_REPLACED.get(line, line) for line in timeline.unknown)
    unknown = (*said, *TASKFLOW_UNKNOWN, *earlier_failures(history))
    timeline = replace(timeline, source=SOURCE_TASKFLOW, unknown=unknown)
    return FlowReport(flow, timeline, critical_path(timeline), failures_from_timeline(timeline))


def _history_of(conn: Connection, uuid: str, name: str) -> list[RetryAttempt]:
    results = conn.execute(select(atomdetails.c.results).where(atomdetails.c.uuid == uuid))
    return retry_attempts(decode_json(results.scalar_one_or_none()), name)


@dataclass
class _Acc:
    kind: str
    runs: int = 0
    attempts: int = 0
    failures: int = 0
    reverts: int = 0
    running: int = 0
    durations: list[float] = field(default_factory=list)


def atom_stats(
    conn: Connection,
    *,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AtomStats]:
    """Per atom name across TaskFlow's flows (created in the window), as far as they tell."""
    a, f = atomdetails.c, flowdetails.c
    stmt = select(a.parent_uuid, a.name, a.atom_type, a.state, a.meta, a.results, a.failure).join(
        flowdetails, f.uuid == a.parent_uuid
    )
    if since is not None:
        stmt = stmt.where(f.created_at >= since.astimezone(timezone.utc).replace(tzinfo=None))
    if until is not None:
        stmt = stmt.where(f.created_at < until.astimezone(timezone.utc).replace(tzinfo=None))
    rows = list(conn.execute(stmt))
    history: dict[str, list[RetryAttempt]] = {}
    for row in rows:
        if row.atom_type == RETRY_DETAIL:
            found = retry_attempts(decode_json(row.results), str(row.name))
            history.setdefault(row.parent_uuid, []).extend(found)
    counts = {flow: attempts_by_atom(entries) for flow, entries in history.items()}
    failed: dict[tuple[str, str], int] = {}
    for flow, entries in history.items():
        for entry in entries:
            for atom in entry.failures:
                failed[(flow, atom)] = failed.get((flow, atom), 0) + 1
    wanted = None if name is None else name_filter(a.name, name)
    names = None
    if wanted is not None:
        names = {str(r[0]) for r in conn.execute(select(a.name).where(wanted).distinct())}
    acc: dict[str, _Acc] = {}
    for row in rows:
        atom = str(row.name)
        if (names is not None and atom not in names) or row.state in states.UNSTARTED_STATES:
            continue
        kind = states.KIND_RETRY if row.atom_type == RETRY_DETAIL else states.KIND_TASK
        item = acc.setdefault(atom, _Acc(kind))
        item.runs += 1
        item.attempts += counts.get(row.parent_uuid, {}).get(atom, 1)
        latest_failed = decode_json(row.failure) is not None  # kept after its revert too
        item.failures += failed.get((row.parent_uuid, atom), 0) + int(latest_failed)
        item.reverts += int(row.state == states.REVERTED)
        item.running += int(row.state == states.RUNNING)
        meta = decode_json(row.meta)
        duration = meta.get(DURATION_KEY) if isinstance(meta, dict) else None
        if isinstance(duration, (int, float)) and not isinstance(duration, bool):
            item.durations.append(float(duration))
    return [_build(key, acc[key]) for key in sorted(acc)]


def _build(name: str, item: _Acc) -> AtomStats:
    ordered = sorted(item.durations)
    return AtomStats(
        name=name,
        kind=item.kind,
        runs=item.runs,
        attempts=item.attempts,
        failures=item.failures,
        reverts=item.reverts,
        finished=item.attempts - item.running,
        p50=percentile(ordered, 0.5),
        p95=percentile(ordered, 0.95),
        max=round(ordered[-1], 6) if ordered else None,
        mean=round(sum(ordered) / len(ordered), 6) if ordered else None,
        open=item.running,
    )
