"""The critical path of a run: the chain of atom phases that set its wall time.

The transitions do not store the flow's dependency graph, and do not need to:
an atom starts only after everything it waits for has finished, so walking
back from the end of the run, the phase that finished last before the current
one started is what held it up. Repeating that until the start of the run
gives the chain. Whatever wall time the chain does not cover is waiting:
engine overhead, retry waits, listener and storage time between phases.
Retry waits are never chain steps themselves (they are idle time by
definition); what happened during them (reverts, the retry atom, re-runs of
earlier atoms) is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from recorder.exceptions import NoSuchRun
from recorder.query.model import (
    JSON,
    REVERTING,
    RUNNING,
    WAITING,
    Phase,
    Timeline,
    iso,
    seconds,
)


@dataclass(frozen=True)
class Step:
    """One phase on the critical path."""

    atom: str
    attempt: int
    phase: str
    started_at: datetime
    ended_at: datetime
    end_state: str | None

    @property
    def duration(self) -> float:
        return seconds(self.started_at, self.ended_at) or 0.0

    def to_json(self) -> JSON:
        return {
            "atom": self.atom,
            "attempt": self.attempt,
            "phase": self.phase,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": self.duration,
            "end_state": self.end_state,
        }


@dataclass(frozen=True)
class CriticalPath:
    """The chain for one run, oldest step first, and how its wall time splits up.

    ``running_s + reverting_s + waiting_s == wall_s``. ``open`` is True when the
    run has not ended (the path then ends at the timeline's ``as_of``).
    """

    run: int | None
    started_at: datetime
    ended_at: datetime
    steps: tuple[Step, ...]
    open: bool = False

    @property
    def wall(self) -> float:
        return seconds(self.started_at, self.ended_at) or 0.0

    def _sum(self, phase: str) -> float:
        return round(sum(s.duration for s in self.steps if s.phase == phase), 6)

    @property
    def running(self) -> float:
        return self._sum(RUNNING)

    @property
    def reverting(self) -> float:
        return self._sum(REVERTING)

    @property
    def waiting(self) -> float:
        return round(max(0.0, self.wall - self.running - self.reverting), 6)

    def share(self, part: float) -> float:
        """``part`` as a fraction of the wall time (0 for an instant run)."""
        return round(part / self.wall, 4) if self.wall > 0 else 0.0

    def contains(self, atom: str, attempt: int, phase: str) -> bool:
        return any(s.atom == atom and s.attempt == attempt and s.phase == phase for s in self.steps)

    def to_json(self) -> JSON:
        return {
            "run": self.run,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "open": self.open,
            "wall_s": self.wall,
            "running_s": self.running,
            "reverting_s": self.reverting,
            "waiting_s": self.waiting,
            "running_share": self.share(self.running),
            "reverting_share": self.share(self.reverting),
            "waiting_share": self.share(self.waiting),
            "steps": [s.to_json() for s in self.steps],
        }


def _window(
    timeline: Timeline, run: int | None
) -> tuple[int | None, datetime, datetime, bool] | None:
    """(run number, start, end, open) of the window to walk; None: nothing timed."""
    as_of = timeline.as_of
    if timeline.runs:
        chosen = timeline.runs[-1] if run is None else timeline.runs[run - 1]
        end = chosen.ended_at
        is_open = end is None
        if end is None:
            end = as_of or chosen.started_at
        return chosen.number, chosen.started_at, end, is_open
    start, end = timeline.started_at, timeline.ended_at
    is_open = end is None
    if end is None:
        end = as_of
    if start is None or end is None:
        return None
    return None, start, end, is_open


def critical_path(timeline: Timeline, run: int | None = None) -> CriticalPath | None:
    """The critical path of run number ``run`` (default: the last run).

    None when the timeline has nothing timed in it. NoSuchRun (an IndexError)
    for a run number the timeline does not have.
    """
    if run is not None and not 1 <= run <= len(timeline.runs):
        raise NoSuchRun(
            "run %d not in 1..%d" % (run, len(timeline.runs)), run=run, runs=len(timeline.runs)
        )
    window = _window(timeline, run)
    if window is None:
        return None
    number, start, end, is_open = window
    # (end, start, atom, attempt, phase): plain tuples, Steps only for the chain.
    candidates: list[tuple[datetime, datetime, str, int, Phase]] = []
    for atom in timeline.atoms:
        for attempt in atom.attempts:
            for phase in attempt.phases:
                if phase.phase == WAITING:
                    continue
                p_end = phase.ended_at or end
                if phase.started_at >= start and p_end <= end:
                    candidates.append((p_end, phase.started_at, atom.name, attempt.number, phase))
    # Latest end first; among equal ends the longest phase (earliest start) wins.
    candidates.sort(key=lambda c: (c[0], -c[1].timestamp()), reverse=True)
    chain: list[Step] = []
    cursor = end
    for p_end, p_start, name, number, phase in candidates:
        # Ends only decrease, so one pass finds each predecessor in turn.
        if p_end <= cursor:
            chain.append(Step(name, number, phase.phase, p_start, p_end, phase.end_state))
            cursor = p_start
    chain.reverse()
    return CriticalPath(number, start, end, tuple(chain), is_open)
