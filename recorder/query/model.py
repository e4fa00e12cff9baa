"""Result types of the query layer: plain frozen dataclasses with a stable JSON shape.

Everything the query layer returns is one of these, so the renderers, the CLI
and user code all see the same facts. ``to_json()`` returns only JSON types
(str, int, float, bool, None, list, dict); times are ISO-8601 UTC strings with
microseconds, durations are seconds as floats (``*_s`` keys). The shape is
versioned by :data:`TIMELINE_FORMAT`: keys are only ever added, never renamed
or removed, without a new version.

Phases of an attempt (``Phase.phase``):

``waiting``
    the atom was reverted and waits for its retry to run it again (from the
    REVERTED of the previous attempt, or the RETRYING of a retry atom, to this
    attempt's RUNNING).
``running``
    executing: RUNNING until SUCCESS or FAILURE.
``reverting``
    undoing this attempt: REVERTING until REVERTED or REVERT_FAILURE.

A phase with ``ended_at`` None is still open (the flow is running); one whose
``end_state`` is :data:`INTERRUPTED` was cut off because its process died and
the flow was later resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recorder.exceptions import NotFound

TIMELINE_FORMAT = "recorder.timeline/1"

WAITING = "waiting"
RUNNING = "running"
REVERTING = "reverting"
PHASES = (WAITING, RUNNING, REVERTING)

INTERRUPTED = "INTERRUPTED"
"""``end_state`` of a phase (and ``outcome`` of an attempt) cut off by a crash."""

SOURCE_TRANSITIONS = "transitions"
SOURCE_META = "meta"
SOURCES = ("auto", SOURCE_TRANSITIONS, SOURCE_META)
"""What a timeline may be built from: "auto" picks transitions when the flow has any."""

JSON = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    """A time as JSON: ISO-8601 with microseconds and offset, or None."""
    return None if value is None else value.isoformat(timespec="microseconds")


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (microsecond precision), None if either is unknown."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 6)


@dataclass(frozen=True)
class FailureInfo:
    """What a failed attempt (or revert) raised: exception type name and message.

    ``causes`` ("Type: message", nearest first) and ``traceback`` come from the
    stored failure (atom_details keeps the latest one per atom), when it is known.
    """

    type: str
    message: str
    causes: tuple[str, ...] = ()
    traceback: str | None = None

    def to_json(self) -> JSON:
        return {
            "type": self.type,
            "message": self.message,
            "causes": list(self.causes),
            "traceback": self.traceback,
        }


@dataclass(frozen=True)
class Phase:
    """One stretch of an attempt: waiting, running or reverting (see the module docstring)."""

    phase: str
    started_at: datetime
    ended_at: datetime | None
    end_state: str | None

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def duration(self) -> float | None:
        return seconds(self.started_at, self.ended_at)

    def duration_until(self, as_of: datetime) -> float:
        """The duration, counting an open phase up to ``as_of``."""
        end = self.ended_at or max(as_of, self.started_at)
        return round((end - self.started_at).total_seconds(), 6)

    def to_json(self) -> JSON:
        return {
            "phase": self.phase,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": self.duration,
            "end_state": self.end_state,
        }


@dataclass(frozen=True)
class Attempt:
    """One execution of an atom (attempt numbers start at 1) and what followed it.

    ``outcome``: SUCCESS, FAILURE, INTERRUPTED, or None while it runs.
    ``revert_outcome``: REVERTED, REVERT_FAILURE, INTERRUPTED, None (not reverted
    or still reverting: see ``phases``). ``failure``/``revert_failure``: what the
    execute/revert raised. ``result``: a short repr of what the execute returned.
    """

    number: int
    phases: tuple[Phase, ...]
    outcome: str | None
    revert_outcome: str | None = None
    failure: FailureInfo | None = None
    revert_failure: FailureInfo | None = None
    result: str | None = None

    @property
    def started_at(self) -> datetime | None:
        return self.phases[0].started_at if self.phases else None

    @property
    def ended_at(self) -> datetime | None:
        if not self.phases or any(p.open for p in self.phases):
            return None
        return self.phases[-1].ended_at

    @property
    def open(self) -> bool:
        return any(p.open for p in self.phases)

    def phase(self, name: str) -> Phase | None:
        """The first phase called ``name`` (each kind occurs at most once per attempt)."""
        return next((p for p in self.phases if p.phase == name), None)

    @property
    def run_duration(self) -> float | None:
        """Seconds spent executing (the running phase), None if unknown or open."""
        running = self.phase(RUNNING)
        return running.duration if running is not None else None

    def to_json(self) -> JSON:
        return {
            "attempt": self.number,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": seconds(self.started_at, self.ended_at),
            "run_duration_s": self.run_duration,
            "outcome": self.outcome,
            "revert_outcome": self.revert_outcome,
            "open": self.open,
            "failure": self.failure.to_json() if self.failure else None,
            "revert_failure": self.revert_failure.to_json() if self.revert_failure else None,
            "result": self.result,
            "phases": [p.to_json() for p in self.phases],
        }


@dataclass(frozen=True)
class AtomTimeline:
    """Every attempt of one atom of a flow, oldest first; ``state`` is its last known state."""

    name: str
    uuid: str | None
    kind: str
    state: str | None
    attempts: tuple[Attempt, ...]

    @property
    def retries(self) -> int:
        """Attempts beyond the first."""
        return max(0, len(self.attempts) - 1)

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "uuid": self.uuid,
            "kind": self.kind,
            "state": self.state,
            "retries": self.retries,
            "attempts": [a.to_json() for a in self.attempts],
        }


@dataclass(frozen=True)
class RunSegment:
    """One run of a flow: from entering RUNNING to its end, suspension or interruption.

    ``end_state``: SUCCESS, FAILURE, REVERTED, SUSPENDED; INTERRUPTED when the
    process died (the flow was later resumed; ``ended_at`` is then the last
    thing recorded in this run); None while it runs.
    """

    number: int
    started_at: datetime
    ended_at: datetime | None
    end_state: str | None
    worker: str | None = None
    """The job worker that ran it (``recorder worker``'s owner name), when one did."""

    @property
    def duration(self) -> float | None:
        return seconds(self.started_at, self.ended_at)

    def to_json(self) -> JSON:
        data: JSON = {
            "run": self.number,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": self.duration,
            "end_state": self.end_state,
        }
        if self.worker is not None:
            data["worker"] = self.worker
        return data


@dataclass(frozen=True)
class Timeline:
    """A flow's history rebuilt from one source, ready to analyse or render.

    ``source`` is ``"transitions"`` (the audit trail: complete) or ``"meta"``
    (TaskFlow-style timestamps: ``unknown`` lists what that source cannot tell).
    ``as_of`` is the moment open phases are measured up to (the latest recorded
    time, or "now" for a flow that is still running).
    """

    flow_uuid: str
    flow_name: str
    state: str | None
    source: str
    runs: tuple[RunSegment, ...]
    atoms: tuple[AtomTimeline, ...]
    as_of: datetime | None
    unknown: tuple[str, ...] = field(default=())

    @property
    def started_at(self) -> datetime | None:
        starts = [r.started_at for r in self.runs] or [
            a.started_at for t in self.atoms for a in t.attempts if a.started_at is not None
        ]
        return min(starts) if starts else None

    @property
    def ended_at(self) -> datetime | None:
        if self.runs:
            return self.runs[-1].ended_at
        if any(a.open for t in self.atoms for a in t.attempts):
            return None
        ends = [a.ended_at for t in self.atoms for a in t.attempts if a.ended_at is not None]
        return max(ends) if ends else None

    @property
    def duration(self) -> float | None:
        return seconds(self.started_at, self.ended_at)

    @property
    def open(self) -> bool:
        """True while something is still running (a run or an attempt has no end)."""
        return (bool(self.runs) and self.runs[-1].ended_at is None) or any(
            a.open for t in self.atoms for a in t.attempts
        )

    def atom(self, name: str) -> AtomTimeline:
        for item in self.atoms:
            if item.name == name:
                return item
        raise NotFound("timeline of flow %r has no atom named %r" % (self.flow_name, name))

    def to_json(self) -> JSON:
        return {
            "format": TIMELINE_FORMAT,
            "flow": {"uuid": self.flow_uuid, "name": self.flow_name, "state": self.state},
            "source": self.source,
            "unknown": list(self.unknown),
            "as_of": iso(self.as_of),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": self.duration,
            "open": self.open,
            "runs": [r.to_json() for r in self.runs],
            "atoms": [a.to_json() for a in self.atoms],
        }
