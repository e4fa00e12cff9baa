"""Per-atom-name statistics across runs: how often, how long, how often it failed or retried.

The database does the heavy part (its statements are in :mod:`recorder.query.reads`):
it reads only the rows of the asked-for names (the ``(name, at)`` index turns
``name = ? AND at >= ?`` into a range scan) and folds the 3-5 rows of each
attempt into one row with its duration already computed in SQL. Python then
only sorts durations for percentiles, which SQLite cannot compute and which
must mean the same on both databases (linear interpolation, like PostgreSQL's
``percentile_cont``).

Definitions (per atom name): ``runs`` -- atoms of that name that ran (one per
flow run that reached it); ``attempts`` -- times one entered RUNNING;
``retries`` = attempts - runs; ``failures`` -- attempts that ended in FAILURE;
``failure_rate`` = failures / finished attempts; durations -- of the running
phase of finished attempts; ``reverts`` -- attempts that were reverted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from recorder.query.model import JSON
from recorder.query.reads import atom_names_matching, attempts_query, untracked_query

__all__ = ["AtomStats", "Untracked", "atom_names_matching", "atom_stats", "percentile", "untracked"]


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of sorted values, interpolated linearly; None if empty."""
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 6)


@dataclass(frozen=True)
class AtomStats:
    """Statistics for one atom name (see the module docstring for the definitions)."""

    name: str
    kind: str
    runs: int
    attempts: int
    failures: int
    reverts: int
    finished: int
    p50: float | None
    p95: float | None
    max: float | None
    mean: float | None
    open: int = field(default=0)

    @property
    def retries(self) -> int:
        return max(0, self.attempts - self.runs)

    @property
    def failure_rate(self) -> float:
        return round(self.failures / self.finished, 4) if self.finished else 0.0

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "kind": self.kind,
            "runs": self.runs,
            "attempts": self.attempts,
            "retries": self.retries,
            "failures": self.failures,
            "failure_rate": self.failure_rate,
            "reverts": self.reverts,
            "finished": self.finished,
            "open": self.open,
            "p50_s": self.p50,
            "p95_s": self.p95,
            "max_s": self.max,
            "mean_s": self.mean,
        }


@dataclass
class _Acc:
    kind: str
    atoms: set[str] = field(default_factory=set)
    attempts: int = 0
    failures: int = 0
    reverts: int = 0
    durations: list[float] = field(default_factory=list)

    def build(self, name: str) -> AtomStats:
        ordered = sorted(self.durations)
        return AtomStats(
            name=name,
            kind=self.kind,
            runs=len(self.atoms),
            attempts=self.attempts,
            failures=self.failures,
            reverts=self.reverts,
            finished=len(ordered),
            p50=percentile(ordered, 0.5),
            p95=percentile(ordered, 0.95),
            max=round(ordered[-1], 6) if ordered else None,
            mean=round(sum(ordered) / len(ordered), 6) if ordered else None,
            open=self.attempts - len(ordered),
        )


def atom_stats(
    conn: Connection,
    *,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    exact: bool = False,
    flows: Any = None,
) -> list[AtomStats]:
    """Statistics per atom name (filtered by a name or ``*``/``?`` pattern and a time window).

    The window applies to transition times: an attempt counts when it started
    (entered RUNNING) inside it. ``exact``: ``name`` is a name, not a pattern.
    ``flows``: only attempts of these flows (a SELECT of flow uuids, e.g.
    :func:`recorder.query.history.runs_of`).
    """
    stmt = attempts_query(
        conn.dialect.name, name=name, since=since, until=until, exact=exact, flows=flows
    )
    acc: dict[str, _Acc] = {}
    for row in conn.execute(stmt):
        item = acc.get(row.name)
        if item is None:
            item = acc[row.name] = _Acc(row.kind)
        item.atoms.add(row.atom_uuid)
        item.attempts += 1
        item.failures += int(row.failed)
        item.reverts += int(row.reverted)
        if row.duration_s is not None:
            item.durations.append(float(row.duration_s))
    return [acc[key].build(key) for key in sorted(acc)]


@dataclass(frozen=True)
class Untracked:
    """What the statistics cannot count: flows (and their atoms) that ran without a
    transitions trail, e.g. loaded with ``engines.load(..., trail=False)``."""

    flows: int = 0
    atoms: int = 0

    def to_json(self) -> JSON:
        return {"flows": self.flows, "atoms": self.atoms}


def untracked(
    conn: Connection,
    *,
    name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Untracked:
    """Flows without a trail, and their atoms that ran, in the scope :func:`atom_stats` was
    asked for (``since``/``until`` filter on the flow's creation time)."""
    row = conn.execute(untracked_query(name, since, until)).one()
    return Untracked(int(row[0] or 0), int(row[1] or 0))
