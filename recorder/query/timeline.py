"""Rebuild a flow's timeline from its transitions rows: pure functions, no database.

The transitions table holds one row per state change, so every attempt of
every atom can be put back together: RUNNING opens an attempt's running phase
and SUCCESS/FAILURE closes it, REVERTING..REVERTED/REVERT_FAILURE is its
reverting phase, and the time between an atom being reverted (a retry atom:
entering RETRYING) and running again is the retry wait, shown as the next
attempt's ``waiting`` phase. Flow rows split the history into runs: each
RUNNING starts one; SUCCESS, FAILURE, REVERTED or SUSPENDED ends it; RESUMING
means the process running it died, so the run and everything still open in it
are closed as INTERRUPTED at the last time anything was recorded.

Rows may be any objects with the transitions columns as attributes (database
rows, :class:`~recorder.persistence.ops.AppendTransition`, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from recorder import states
from recorder.exceptions import StorageError
from recorder.query.model import (
    INTERRUPTED,
    REVERTING,
    RUNNING,
    SOURCE_TRANSITIONS,
    WAITING,
    AtomTimeline,
    Attempt,
    FailureInfo,
    Phase,
    RunSegment,
    Timeline,
)


class TransitionLike(Protocol):
    """The columns of a transitions row that timelines need."""

    @property
    def atom_uuid(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def old_state(self) -> str | None: ...
    @property
    def new_state(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def seq(self) -> int: ...
    @property
    def attempt(self) -> int: ...
    @property
    def details(self) -> Any: ...


class AtomLike(Protocol):
    """An atom_details row (or record): lets atoms that never ran show up too."""

    @property
    def name(self) -> str: ...
    @property
    def uuid(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str | None: ...


class HasDetails(Protocol):
    @property
    def details(self) -> Any: ...


def details_of(row: HasDetails) -> Mapping[str, Any]:
    """A row's details as a mapping (JSON text, as a raw SQLite read gives it, is parsed)."""
    value = row.details
    if type(value) is str:
        try:
            value = json.loads(value) if value != "{}" else {}
        except ValueError as exc:  # SQLite keeps any text a hand put there
            raise StorageError("cannot read stored JSON %.40r: %s" % (value, exc)) from exc
    return value if isinstance(value, Mapping) else {}


def failure_of(details: Mapping[str, Any]) -> FailureInfo | None:
    """The failure summary the recorder keeps in a row's details, if any."""
    failure = details.get("failure")
    if failure is None or not isinstance(failure, Mapping):
        return None
    return FailureInfo(str(failure.get("type", "?")), str(failure.get("message", "")))


def _result_of(details: Mapping[str, Any]) -> str | None:
    result = details.get("result")
    if result is not None and isinstance(result, Mapping) and "repr" in result:
        return str(result["repr"])
    return None


class _AttemptBuilder:
    # Plain slotted classes: the builders are the hot path of ``recorder timeline``.
    __slots__ = (
        "failure",
        "number",
        "open",
        "outcome",
        "phases",
        "result",
        "revert_failure",
        "revert_outcome",
    )

    def __init__(self, number: int) -> None:
        self.number = number
        self.phases: list[Phase] = []
        self.open: dict[str, datetime] = {}
        self.outcome: str | None = None
        self.revert_outcome: str | None = None
        self.failure: FailureInfo | None = None
        self.revert_failure: FailureInfo | None = None
        self.result: str | None = None

    def begin(self, phase: str, at: datetime) -> None:
        if phase in self.open:  # entered twice: the first one never ended
            self.close(phase, at, INTERRUPTED)
        self.open[phase] = at

    def close(self, phase: str, at: datetime, end_state: str) -> bool:
        started = self.open.pop(phase, None)
        if started is None:
            return False
        self.phases.append(Phase(phase, started, at if at >= started else started, end_state))
        return True

    def interrupt(self, at: datetime) -> None:
        for phase in list(self.open):
            self.close(phase, at, INTERRUPTED)
            if phase == RUNNING:
                self.outcome = INTERRUPTED
            elif phase == REVERTING:
                self.revert_outcome = INTERRUPTED

    def build(self) -> Attempt:
        phases = self.phases
        if self.open:
            phases = phases + [Phase(name, start, None, None) for name, start in self.open.items()]
        if len(phases) > 1:
            phases = sorted(phases, key=lambda p: (p.started_at, _PHASE_ORDER[p.phase]))
        return Attempt(
            self.number,
            tuple(phases),
            self.outcome,
            self.revert_outcome,
            self.failure,
            self.revert_failure,
            self.result,
        )


_PHASE_ORDER = {WAITING: 0, RUNNING: 1, REVERTING: 2}


class _AtomBuilder:
    __slots__ = ("attempts", "kind", "name", "state", "uuid", "wait_start")

    def __init__(self, name: str, uuid: str | None, kind: str) -> None:
        self.name, self.uuid, self.kind = name, uuid, kind
        self.state: str | None = None
        self.attempts: dict[int, _AttemptBuilder] = {}
        self.wait_start: datetime | None = None

    def attempt(self, number: int) -> _AttemptBuilder:
        found = self.attempts.get(number)
        if found is None:
            found = self.attempts[number] = _AttemptBuilder(number)
        return found

    def latest(self, number: int) -> _AttemptBuilder:
        """The attempt a revert row belongs to: its own number, else the newest one."""
        if number in self.attempts or not self.attempts:
            return self.attempt(number)
        return self.attempts[max(self.attempts)]


class _Builder:
    def __init__(self) -> None:
        self.atoms: dict[str, _AtomBuilder] = {}
        self.runs: list[RunSegment] = []
        self.run_start: datetime | None = None
        self.last_at: datetime | None = None
        self.flow_name: str | None = None
        self.flow_state: str | None = None
        self.notes: list[str] = []

    def feed(self, row: TransitionLike) -> None:
        if row.kind == states.KIND_FLOW:
            self._flow(row)
        else:
            self._atom(row)
        if self.last_at is None or row.at > self.last_at:
            self.last_at = row.at

    # -- flow rows: runs ---------------------------------------------------------

    def _flow(self, row: TransitionLike) -> None:
        self.flow_name = row.name
        self.flow_state = row.new_state
        new = row.new_state
        if new == states.RUNNING:
            if self.run_start is not None:
                self._interrupt(self.run_start)
            self.run_start = row.at
        elif new in states.RUN_END_STATES and self.run_start is not None:
            self.runs.append(RunSegment(len(self.runs) + 1, self.run_start, row.at, new))
            self.run_start = None
            self._drop_waits()
        elif new == states.RESUMING and self.run_start is not None:
            self._interrupt(self.run_start)

    def _interrupt(self, run_start: datetime) -> None:
        """The run in progress died: close it and all it left open at the last recorded time."""
        end = self.last_at or run_start
        self.runs.append(RunSegment(len(self.runs) + 1, run_start, end, INTERRUPTED))
        self.run_start = None
        for atom in self.atoms.values():
            for attempt in atom.attempts.values():
                attempt.interrupt(end)
        self._drop_waits()

    def _drop_waits(self) -> None:
        # A retry wait ends with the run: a later run starts the atom afresh.
        for atom in self.atoms.values():
            atom.wait_start = None

    # -- atom rows: attempts and phases -------------------------------------------

    def _atom(self, row: TransitionLike) -> None:
        key = row.atom_uuid or row.name
        atom = self.atoms.get(key)
        if atom is None:
            atom = self.atoms[key] = _AtomBuilder(row.name, row.atom_uuid, row.kind)
        new = atom.state = row.new_state
        if new == states.RUNNING:
            number = row.attempt
            attempt = atom.attempts.get(number)
            if attempt is None:
                attempt = atom.attempts[number] = _AttemptBuilder(number)
            if atom.wait_start is not None:
                attempt.phases.append(Phase(WAITING, atom.wait_start, row.at, states.RUNNING))
                atom.wait_start = None
            attempt.begin(RUNNING, row.at)
        elif new in states.EXECUTE_END_STATES:
            self._executed(atom, row)
        elif new == states.REVERTING:
            atom.latest(row.attempt).begin(REVERTING, row.at)
        elif new in states.REVERT_END_STATES:
            attempt = atom.latest(row.attempt)
            if not attempt.close(REVERTING, row.at, new):
                attempt.phases.append(Phase(REVERTING, row.at, row.at, new))
            attempt.revert_outcome = new
            if new == states.REVERT_FAILURE:
                attempt.revert_failure = failure_of(details_of(row))
            else:
                atom.wait_start = row.at
        elif new == states.RETRYING:
            atom.wait_start = row.at

    def _executed(self, atom: _AtomBuilder, row: TransitionLike) -> None:
        attempt = atom.attempt(row.attempt)
        if not attempt.close(RUNNING, row.at, row.new_state):
            # No RUNNING row for this attempt: it was re-run after a resume (RUNNING
            # to RUNNING is not a transition). It started no earlier than its run.
            start = self.run_start or row.at
            attempt.phases.append(Phase(RUNNING, min(start, row.at), row.at, row.new_state))
            self.notes.append(
                "start of %s attempt %d not recorded (re-run after a resume): "
                "drawn from the start of its run" % (atom.name, row.attempt)
            )
        attempt.outcome = row.new_state
        details = details_of(row)
        if row.new_state == states.FAILURE:
            attempt.failure = failure_of(details)
        else:
            attempt.result = _result_of(details)


def build_timeline(
    rows: Iterable[TransitionLike],
    *,
    flow_uuid: str,
    flow_name: str | None = None,
    atoms: Sequence[AtomLike] = (),
    now: datetime | None = None,
) -> Timeline:
    """The timeline of one flow from its transitions rows (any order; sorted by ``seq``).

    ``atoms`` (optional atom_details rows) adds atoms that have no transitions
    yet, with no attempts, so "what is left to do" shows too. ``now`` is used as
    ``as_of`` while the flow still runs (open phases are measured up to it);
    otherwise ``as_of`` is the last recorded time.
    """
    builder = _Builder()
    for row in sorted(rows, key=lambda r: r.seq):
        builder.feed(row)
    runs = list(builder.runs)
    if builder.run_start is not None:
        runs.append(RunSegment(len(runs) + 1, builder.run_start, None, None))
    result: list[AtomTimeline] = [
        AtomTimeline(
            name=a.name,
            uuid=a.uuid,
            kind=a.kind,
            state=a.state,
            attempts=tuple(a.attempts[n].build() for n in sorted(a.attempts)),
        )
        for a in builder.atoms.values()
    ]
    seen = {a.uuid for a in result} | {a.name for a in result}
    for extra in atoms:
        if extra.uuid not in seen and extra.name not in seen:
            result.append(AtomTimeline(extra.name, extra.uuid, extra.kind, extra.state, ()))
    still_open = (bool(runs) and runs[-1].ended_at is None) or any(
        a.open for t in result for a in t.attempts
    )
    as_of = builder.last_at
    if still_open and now is not None and (as_of is None or now > as_of):
        as_of = now
    return Timeline(
        flow_uuid=flow_uuid,
        flow_name=builder.flow_name or flow_name or "",
        state=builder.flow_state,
        source=SOURCE_TRANSITIONS,
        runs=tuple(runs),
        atoms=tuple(result),
        as_of=as_of,
        unknown=tuple(builder.notes),
    )
