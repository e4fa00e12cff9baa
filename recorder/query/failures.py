"""Failures of a flow, with their causes and what was reverted because of them.

When an atom fails, the engine starts nothing new: it reverts (the failed
atoms, then what their retry controls, or everything), and then either a retry
runs atoms again or the run ends. That stretch is one :class:`FailureEpisode`:
it opens at a FAILURE and closes at the next RUNNING of any atom (the retry
went on: ``outcome`` "RETRIED") or at the end of the run (``outcome`` the
flow's end state). Every failure in the stretch (parallel atoms can fail
together) is its cause; every revert in it happened because of them.

:func:`failures_from_transitions` follows the rows in ``seq`` order, which is
exact. :func:`failures_from_timeline` orders phases by time, for timelines
rebuilt from meta, which have no rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from recorder import states
from recorder.query.model import (
    INTERRUPTED,
    JSON,
    REVERTING,
    RUNNING,
    WAITING,
    FailureInfo,
    Timeline,
    iso,
    seconds,
)
from recorder.query.timeline import (
    TransitionLike,
    details_of,
    failure_of,
)

RETRIED = "RETRIED"


@dataclass(frozen=True)
class FailedAttempt:
    """An attempt that raised: in execute (``during`` "execute") or in revert ("revert")."""

    atom: str
    attempt: int
    at: datetime
    during: str
    failure: FailureInfo | None

    def to_json(self) -> JSON:
        return {
            "atom": self.atom,
            "attempt": self.attempt,
            "at": iso(self.at),
            "during": self.during,
            "failure": self.failure.to_json() if self.failure else None,
        }


@dataclass(frozen=True)
class Revert:
    """One revert done because of an episode's failures; ``end_state`` None if unfinished."""

    atom: str
    attempt: int
    started_at: datetime
    ended_at: datetime | None
    end_state: str | None
    after_failure_s: float | None

    def to_json(self) -> JSON:
        return {
            "atom": self.atom,
            "attempt": self.attempt,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": seconds(self.started_at, self.ended_at),
            "end_state": self.end_state,
            "after_failure_s": self.after_failure_s,
        }


@dataclass(frozen=True)
class FailureEpisode:
    """Failures that happened together and what the engine did about them.

    ``outcome``: "RETRIED" (a retry ran atoms again; ``retried_by`` names it),
    the flow's end state (REVERTED, FAILURE, ...), INTERRUPTED, or None while
    the engine is still handling it.
    """

    failures: tuple[FailedAttempt, ...]
    reverts: tuple[Revert, ...]
    outcome: str | None
    retried_by: str | None = None

    @property
    def started_at(self) -> datetime:
        return self.failures[0].at

    def to_json(self) -> JSON:
        return {
            "started_at": iso(self.started_at),
            "outcome": self.outcome,
            "retried_by": self.retried_by,
            "failures": [f.to_json() for f in self.failures],
            "reverts": [r.to_json() for r in self.reverts],
        }


@dataclass(frozen=True)
class _Event:
    """A phase edge of a timeline, shaped like a transitions row (the fields episodes read)."""

    kind: str
    name: str
    attempt: int
    new_state: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Open:
    failures: list[FailedAttempt] = field(default_factory=list)
    reverts: dict[tuple[str, int], Revert] = field(default_factory=dict)
    retried_by: str | None = None

    def close(self, outcome: str | None) -> FailureEpisode:
        return FailureEpisode(
            tuple(self.failures), tuple(self.reverts.values()), outcome, self.retried_by
        )


def _episodes(rows: Iterable[TransitionLike | _Event]) -> tuple[FailureEpisode, ...]:
    """Walk rows (or timeline events) in order, opening an episode at each FAILURE."""
    done: list[FailureEpisode] = []
    current: _Open | None = None
    for ev in rows:
        state = ev.new_state
        if current is None:  # most rows: nothing to do until something fails
            if state == states.FAILURE and ev.kind != states.KIND_FLOW:
                current = _Open()
            else:
                continue
        if ev.kind == states.KIND_FLOW:
            if state in states.RUN_END_STATES or state == states.RESUMING:
                done.append(current.close(INTERRUPTED if state == states.RESUMING else state))
                current = None
        elif state == states.FAILURE:
            current.failures.append(
                FailedAttempt(ev.name, ev.attempt, ev.at, "execute", failure_of(details_of(ev)))
            )
        elif state == states.RUNNING:
            done.append(current.close(RETRIED))
            current = None
        elif state == states.REVERTING:
            current.reverts[(ev.name, ev.attempt)] = Revert(
                ev.name, ev.attempt, ev.at, None, None, None
            )
        elif state in states.REVERT_END_STATES:
            begun = current.reverts.get((ev.name, ev.attempt))
            start = begun.started_at if begun is not None else ev.at
            first = current.failures[0].at
            current.reverts[(ev.name, ev.attempt)] = Revert(
                ev.name, ev.attempt, start, ev.at, state, seconds(first, ev.at)
            )
            if state == states.REVERT_FAILURE:
                current.failures.append(
                    FailedAttempt(ev.name, ev.attempt, ev.at, "revert", failure_of(details_of(ev)))
                )
        elif state == states.RETRYING:
            current.retried_by = ev.name
    if current is not None:
        done.append(current.close(None))
    return tuple(done)


def failures_from_transitions(rows: Iterable[TransitionLike]) -> tuple[FailureEpisode, ...]:
    """Failure episodes of one flow from its transitions rows (exact: follows ``seq``)."""
    ordered: list[TransitionLike] = sorted(rows, key=_seq)
    return _episodes(ordered)


def _seq(row: TransitionLike) -> int:
    return row.seq


# Within one instant: finishing comes before starting, as the engine orders them.
_ORDER = {
    states.SUCCESS: 0,
    states.FAILURE: 0,
    states.REVERTED: 1,
    states.REVERT_FAILURE: 1,
    states.RETRYING: 2,
}


def _failure_details(failure: FailureInfo | None) -> dict[str, Any]:
    return {"failure": failure.to_json()} if failure is not None else {}


def _timeline_events(timeline: Timeline) -> Iterator[_Event]:
    for run in timeline.runs:
        if run.ended_at is not None and run.end_state is not None:
            state = states.RESUMING if run.end_state == INTERRUPTED else run.end_state
            yield _Event(states.KIND_FLOW, timeline.flow_name, 0, state, run.ended_at)
    for atom in timeline.atoms:
        for a in atom.attempts:
            for p in a.phases:
                if p.phase == WAITING:
                    if atom.kind == states.KIND_RETRY:
                        yield _Event(atom.kind, atom.name, a.number, states.RETRYING, p.started_at)
                    continue
                start_state = RUNNING.upper() if p.phase == RUNNING else REVERTING.upper()
                yield _Event(atom.kind, atom.name, a.number, start_state, p.started_at)
                if p.ended_at is not None and p.end_state in (
                    states.EXECUTE_END_STATES | states.REVERT_END_STATES
                ):
                    failure = a.failure if p.end_state == states.FAILURE else a.revert_failure
                    yield _Event(
                        atom.kind,
                        atom.name,
                        a.number,
                        p.end_state,
                        p.ended_at,
                        _failure_details(failure),
                    )


def failures_from_timeline(timeline: Timeline) -> tuple[FailureEpisode, ...]:
    """Failure episodes ordered by time alone (for timelines that have no rows)."""
    events = sorted(
        _timeline_events(timeline),
        key=lambda e: (e.at, 3 if e.kind == states.KIND_FLOW else _ORDER.get(e.new_state, 2)),
    )
    return _episodes(events)


def stored_failure(stored: Any) -> FailureInfo | None:
    """A stored failure dict (``atom_details.failure``) as a FailureInfo with its causes."""
    if not isinstance(stored, Mapping) or "exception_str" not in stored:
        return None
    names = stored.get("exc_type_names") or ["?"]
    causes: list[str] = []
    cause = _first_cause(stored)
    while cause is not None and len(causes) < 20:
        cause_names = cause.get("exc_type_names") or ["?"]
        causes.append("%s: %s" % (cause_names[0], cause.get("exception_str", "")))
        cause = _first_cause(cause)
    trace = stored.get("traceback_str")
    return FailureInfo(
        str(names[0]),
        str(stored["exception_str"]),
        tuple(causes),
        str(trace) if trace else None,
    )


def _first_cause(stored: Mapping[str, Any]) -> Mapping[str, Any] | None:
    causes = stored.get("causes")
    if isinstance(causes, list) and causes and isinstance(causes[0], Mapping):
        return causes[0]
    return None


def _same(summary: FailureInfo, full: FailureInfo) -> bool:
    """Whether a row's (possibly cut) summary describes the stored failure."""
    if summary.type != full.type:
        return False
    if summary.message == full.message:
        return True
    return summary.message.endswith("...") and full.message.startswith(summary.message[:-3])


def with_stored_failures(
    episodes: tuple[FailureEpisode, ...], stored: Mapping[str, tuple[Any, Any]]
) -> tuple[FailureEpisode, ...]:
    """Episodes whose failures carry causes and tracebacks where atom_details has them."""

    def enrich(failed: FailedAttempt) -> FailedAttempt:
        pair = stored.get(failed.atom)
        if pair is None or failed.failure is None:
            return failed
        full = stored_failure(pair[0] if failed.during == "execute" else pair[1])
        if full is None or not _same(failed.failure, full):
            return failed
        return replace(failed, failure=full)

    return tuple(replace(ep, failures=tuple(enrich(f) for f in ep.failures)) for ep in episodes)
