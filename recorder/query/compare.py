"""One run held against another, or against the usual of its flow name.

Per atom: this run's duration against the baseline's p50/p95, its attempts
against the usual number, and whether it newly fails -- "what got slower, what
newly fails" in one table (``recorder compare``, the flow page).

Definitions: an atom's *duration* in a run is the running phase of its last
finished attempt (the one that decided); its *attempts* count every entry into
RUNNING. Against another run the baseline is that run's own numbers (p50 = p95 =
its duration); against the history it is :class:`~recorder.query.stats.AtomStats`
of earlier runs of the same flow name (per attempt durations, attempts per run).
An atom is *slower* when its duration is above the baseline's p95 by more than
:data:`SLACK` and :data:`MIN_SLOWER_S` (so microsecond noise is not news), and
*newly failing* when it failed here and never in a baseline that ran it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recorder.query.model import JSON, AtomTimeline, Timeline
from recorder.query.stats import AtomStats

COMPARE_FORMAT = "recorder.compare/1"
SLACK = 1.10
"""Slower means above p95 * SLACK."""
MIN_SLOWER_S = 0.001
"""And by at least this many seconds."""


@dataclass(frozen=True)
class Baseline:
    """What is usual for one atom: from one other run, or from a name's history."""

    runs: int
    p50: float | None
    p95: float | None
    attempts_per_run: float
    failures: int

    def to_json(self) -> JSON:
        return {
            "runs": self.runs,
            "p50_s": self.p50,
            "p95_s": self.p95,
            "attempts_per_run": self.attempts_per_run,
            "failures": self.failures,
        }


@dataclass(frozen=True)
class AtomDelta:
    """One atom of the run, next to its baseline (None: the baseline never ran it)."""

    name: str
    kind: str
    duration: float | None
    attempts: int
    failures: int
    baseline: Baseline | None

    @property
    def slower(self) -> bool:
        b = self.baseline
        if b is None or b.p95 is None or self.duration is None:
            return False
        return self.duration > b.p95 * SLACK and self.duration - b.p95 >= MIN_SLOWER_S

    @property
    def newly_failing(self) -> bool:
        """Failed here, never in a baseline that ran it (no baseline: "new", not news)."""
        return self.failures > 0 and self.baseline is not None and self.baseline.failures == 0

    @property
    def more_attempts(self) -> bool:
        return self.baseline is not None and self.attempts > self.baseline.attempts_per_run

    @property
    def verdict(self) -> str:
        """One word for the table: the most important change first."""
        if self.baseline is None:
            return "new"
        if self.newly_failing:
            return "newly fails"
        if self.slower:
            return "slower"
        if self.more_attempts:
            return "more attempts"
        return "as usual"

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "kind": self.kind,
            "duration_s": self.duration,
            "attempts": self.attempts,
            "failures": self.failures,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "slower": self.slower,
            "newly_failing": self.newly_failing,
            "more_attempts": self.more_attempts,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Comparison:
    """A run against a baseline: ``against`` says what the baseline is."""

    flow_uuid: str
    flow_name: str
    against: JSON
    atoms: tuple[AtomDelta, ...]

    @property
    def changed(self) -> tuple[AtomDelta, ...]:
        return tuple(a for a in self.atoms if a.verdict != "as usual")

    def to_json(self) -> JSON:
        return {
            "format": COMPARE_FORMAT,
            "flow": {"uuid": self.flow_uuid, "name": self.flow_name},
            "against": self.against,
            "atoms": [a.to_json() for a in self.atoms],
        }


def _decided(atom: AtomTimeline) -> float | None:
    durations = [a.run_duration for a in atom.attempts if a.outcome in ("SUCCESS", "FAILURE")]
    known = [d for d in durations if d is not None]
    return known[-1] if known else None


def _attempts(atom: AtomTimeline) -> int:
    return sum(1 for a in atom.attempts if a.phase("running") is not None)


def _failures(atom: AtomTimeline) -> int:
    return sum(1 for a in atom.attempts if a.outcome == "FAILURE")


def _ran(timeline: Timeline) -> list[AtomTimeline]:
    return [a for a in timeline.atoms if _attempts(a)]


def _deltas(timeline: Timeline, baselines: Mapping[str, Baseline]) -> tuple[AtomDelta, ...]:
    return tuple(
        AtomDelta(a.name, a.kind, _decided(a), _attempts(a), _failures(a), baselines.get(a.name))
        for a in _ran(timeline)
    )


def compare_runs(this: Timeline, other: Timeline) -> Comparison:
    """``this`` run against ``other`` (of any flow name): per atom of ``this``."""
    baselines = {}
    for atom in _ran(other):
        took = _decided(atom)
        baselines[atom.name] = Baseline(1, took, took, float(_attempts(atom)), _failures(atom))
    against: JSON = {"kind": "flow", "uuid": other.flow_uuid, "name": other.flow_name}
    return Comparison(this.flow_uuid, this.flow_name, against, _deltas(this, baselines))


def compare_history(this: Timeline, history: Sequence[AtomStats], runs: int) -> Comparison:
    """``this`` run against ``history`` (statistics of ``runs`` earlier runs of its name)."""
    baselines = {
        s.name: Baseline(
            s.runs,
            s.p50,
            s.p95,
            round(s.attempts / s.runs, 2) if s.runs else 0.0,
            s.failures,
        )
        for s in history
    }
    against: JSON = {"kind": "history", "name": this.flow_name, "runs": runs}
    return Comparison(this.flow_uuid, this.flow_name, against, _deltas(this, baselines))
