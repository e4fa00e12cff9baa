"""A flow name's history: its runs over time and its atoms' statistics.

What the per-name stats page and "this run against the usual" need. Each read
is one statement shaped for an index: the flows of a name come from
``flow_details (name, created_at)``, their flow events from ``transitions
(flow_uuid, seq)``, their atoms' attempts from ``transitions (name, at)``
restricted to those flows (:func:`recorder.query.stats.atom_stats` with ``flows=``).

A run's duration here is the flow's own: from its first flow event (entering
RUNNING) to its last recorded one (SUCCESS, REVERTED, ...), the same span as
``took`` in ``recorder timeline`` and TOOK in ``recorder flows``
(:func:`flow_durations`). A resumed flow's downtime is inside it. A flow
without a transitions trail falls back to its rows' creation to last update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, select
from sqlalchemy.engine import Connection

from recorder import states
from recorder.persistence.schema import flow_details, transitions
from recorder.query.compare import Comparison, compare_history
from recorder.query.model import JSON, Timeline, iso, seconds
from recorder.query.records import FlowRecord
from recorder.query.stats import AtomStats, atom_stats

HISTORY_FORMAT = "recorder.history/1"
DEFAULT_RUNS = 200


def runs_of(
    name: str, *, before: datetime | None = None, limit: int | None = None
) -> Select[tuple[str]]:
    """A SELECT of the uuids of flows called ``name`` (created before ``before``), newest
    first, at most ``limit``: pass it as ``flows=`` to the statistics."""
    c = flow_details.c
    stmt = select(c.uuid).where(c.name == name)
    if before is not None:
        stmt = stmt.where(c.created_at < before)
    stmt = stmt.order_by(c.created_at.desc(), c.uuid.desc())
    return stmt.limit(limit) if limit is not None else stmt


@dataclass(frozen=True)
class RunPoint:
    """One run of a flow name: when it was created, how it ended, how long it took."""

    uuid: str
    state: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def finished(self) -> bool:
        return _finished(self.state)

    @property
    def duration(self) -> float | None:
        """Seconds from the first to the last flow event; None while it runs."""
        return seconds(self.started_at, self.ended_at) if self.finished else None

    def to_json(self) -> JSON:
        return {
            "uuid": self.uuid,
            "state": self.state,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": self.duration,
        }


def run_points(conn: Connection, name: str, *, limit: int = DEFAULT_RUNS) -> list[RunPoint]:
    """The newest ``limit`` runs of flow ``name``, oldest first (for a plot over time)."""
    f, t = flow_details.c, transitions.c
    joined = flow_details.outerjoin(
        transitions, and_(t.flow_uuid == f.uuid, t.kind == states.KIND_FLOW)
    )
    stmt = (
        select(f.uuid, f.state, f.created_at, func.min(t.at), func.max(t.at))
        .select_from(joined)
        .where(f.uuid.in_(runs_of(name, limit=limit)))
        .group_by(f.uuid, f.state, f.created_at)
        .order_by(f.created_at, f.uuid)
    )
    return [RunPoint(*row) for row in conn.execute(stmt)]


def _finished(state: str | None) -> bool:
    return state not in (None, states.RUNNING, states.PENDING, states.RESUMING)


def flow_durations(
    conn: Connection, flows: Sequence[FlowRecord], trail: bool = True
) -> dict[str, float | None]:
    """TOOK of each flow (by uuid): first to last flow event; None while it runs.

    One statement for the page: the flows' flow events through ``(flow_uuid, seq)``.
    ``trail=False`` (a TaskFlow database: no transitions table): creation to last update.
    """
    if not flows:
        return {}
    spans = {}
    if trail:
        t = transitions.c
        stmt = (
            select(t.flow_uuid, func.min(t.at), func.max(t.at))
            .where(t.flow_uuid.in_([f.uuid for f in flows]), t.kind == states.KIND_FLOW)
            .group_by(t.flow_uuid)
        )
        spans = {uuid: (start, end) for uuid, start, end in conn.execute(stmt)}
    took: dict[str, float | None] = {}
    for f in flows:
        start, end = spans.get(f.uuid, (f.created_at, f.updated_at))
        took[f.uuid] = seconds(start, end) if _finished(f.state) else None
    return took


def state_counts(conn: Connection, name: str) -> dict[str, int]:
    """How many flows called ``name`` are in each state (all of them, not only the newest)."""
    c = flow_details.c
    stmt = select(c.state, func.count()).where(c.name == name).group_by(c.state)
    return {state or "-": int(count) for state, count in conn.execute(stmt)}


@dataclass(frozen=True)
class NameHistory:
    """Everything the per-name stats page shows."""

    name: str
    states: dict[str, int]
    runs: list[RunPoint]
    atoms: list[AtomStats]

    @property
    def total(self) -> int:
        return sum(self.states.values())

    def to_json(self) -> JSON:
        return {
            "format": HISTORY_FORMAT,
            "name": self.name,
            "flows": self.total,
            "states": self.states,
            "runs": [r.to_json() for r in self.runs],
            "atoms": [a.to_json() for a in self.atoms],
        }


def name_history(conn: Connection, name: str, *, limit: int = DEFAULT_RUNS) -> NameHistory:
    """The runs and per-atom statistics of the newest ``limit`` flows called ``name``."""
    atoms = atom_stats(conn, flows=runs_of(name, limit=limit))
    return NameHistory(name, state_counts(conn, name), run_points(conn, name, limit=limit), atoms)


def against_history(
    conn: Connection, timeline: Timeline, created_at: datetime, *, limit: int = DEFAULT_RUNS
) -> Comparison:
    """``timeline`` against the ``limit`` runs of its flow name created before ``created_at``."""
    earlier = runs_of(timeline.flow_name, before=created_at, limit=limit)
    stats = atom_stats(conn, flows=earlier)
    runs = conn.execute(select(func.count()).select_from(earlier.subquery())).scalar_one()
    return compare_history(timeline, stats, int(runs))
