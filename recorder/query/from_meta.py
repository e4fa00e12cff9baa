"""Rebuild a timeline from TaskFlow-style meta alone, for databases with no transitions rows.

TaskFlow's timing listeners (and recorder's, without the persistent capture)
leave times in the atom and flow meta. How much of the history that keeps
decides how much comes back:

``durations`` (recorder's DurationListener)
    every execute and revert phase with its attempt: all attempts come back.
``<STATE>-timestamps`` (recorder's EventTimeListener)
    every time each state was entered: all attempts come back, numbered in order.
``<STATE>-timestamp`` / ``duration`` only (TaskFlow)
    the latest time of each state: only the latest attempt can be placed;
    earlier ones are lost, and the result says so.

The meta is turned into synthetic transition rows and fed to
:func:`~recorder.query.timeline.build_timeline`, so both sources share one set
of rules. ``Timeline.source`` is ``"meta"`` and ``Timeline.unknown`` lists what
this source cannot tell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from recorder import states
from recorder.listeners.timing import (
    DURATION_KEY,
    DURATIONS_KEY,
    EXECUTE_PHASE,
    timestamp_key,
    timestamps_key,
)
from recorder.query.model import SOURCE_META, Timeline
from recorder.query.timeline import build_timeline

ALWAYS_UNKNOWN = (
    "the order of events between atoms beyond what their times show",
    "failure details of earlier attempts (atom_details keeps the latest failure only)",
    "result summaries",
)

# At one instant, what ends comes before what starts (the engine finishes one
# phase before it begins the next); a flow starts first and ends last.
_RANK = {
    states.SUCCESS: 1,
    states.FAILURE: 1,
    states.REVERTED: 2,
    states.REVERT_FAILURE: 2,
    states.PENDING: 3,
    states.RETRYING: 3,
    states.IGNORE: 3,
    states.REVERTING: 4,
    states.RUNNING: 5,
}


class FlowLike(Protocol):
    @property
    def uuid(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...


class MetaAtomLike(Protocol):
    @property
    def uuid(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str | None: ...
    @property
    def attempt(self) -> int: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...
    @property
    def failure(self) -> Any: ...


@dataclass(frozen=True)
class _Row:
    """A synthetic transitions row (what the meta implies happened)."""

    kind: str
    name: str
    atom_uuid: str | None
    new_state: str
    at: datetime
    attempt: int
    details: Mapping[str, Any] = field(default_factory=dict)
    old_state: str | None = None
    seq: int = 0


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def _stamps(meta: Mapping[str, Any], state: str) -> list[datetime] | None:
    """Every recorded time of ``state`` (recorder's list key); None if there is no list."""
    values = meta.get(timestamps_key(state))
    if not isinstance(values, list):
        return None
    return sorted(t for t in (_time(v) for v in values) if t is not None)


def _latest(meta: Mapping[str, Any], state: str) -> datetime | None:
    return _time(meta.get(timestamp_key(state)))


def failure_summary(stored: Any) -> dict[str, Any]:
    """The details a FAILURE row would carry, from a stored failure dict (if any)."""
    if not isinstance(stored, Mapping):
        return {}
    names = stored.get("exc_type_names") or stored.get("exception_type_names") or ["?"]
    message = stored.get("exception_str") or stored.get("message") or ""
    return {"failure": {"type": str(names[0]), "message": str(message)}}


@dataclass
class _Source:
    """Synthetic rows of one atom or flow and the notes about what was lost."""

    rows: list[_Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _from_durations(kind: str, name: str, uuid: str | None, meta: Mapping[str, Any]) -> _Source:
    out = _Source()
    entries = [e for e in meta.get(DURATIONS_KEY) or [] if isinstance(e, Mapping)]
    starts: dict[str, datetime] = {}
    for entry in entries:
        start, end = _time(entry.get("started")), _time(entry.get("finished"))
        number = entry.get("attempt")
        attempt = number if isinstance(number, int) else 1
        if start is None or end is None:
            continue
        phase_state = states.RUNNING if entry.get("phase") == EXECUTE_PHASE else states.REVERTING
        out.rows.append(_Row(kind, name, uuid, phase_state, start, attempt))
        out.rows.append(_Row(kind, name, uuid, str(entry.get("state")), end, attempt))
        starts[phase_state] = max(start, starts.get(phase_state, start))
    last_attempt = max((r.attempt for r in out.rows), default=0)
    # A phase still open has a start timestamp but no durations entry yet.
    for state in (states.RUNNING, states.REVERTING):
        stamps = _stamps(meta, state) or [t for t in [_latest(meta, state)] if t is not None]
        for stamp in stamps:
            if state not in starts or stamp > starts[state]:
                number = last_attempt + 1 if state == states.RUNNING else max(1, last_attempt)
                out.rows.append(_Row(kind, name, uuid, state, stamp, number))
    for stamp in _stamps(meta, states.RETRYING) or []:
        out.rows.append(_Row(kind, name, uuid, states.RETRYING, stamp, 0))
    return out


def _from_lists(kind: str, name: str, uuid: str | None, meta: Mapping[str, Any]) -> _Source:
    events: list[tuple[datetime, int, str]] = []
    for state in states.STATES:
        for stamp in _stamps(meta, state) or []:
            events.append((stamp, _RANK.get(state, 3), state))
    out = _Source()
    attempt = 0
    for stamp, _, state in sorted(events):
        if state == states.RUNNING:
            attempt += 1
        out.rows.append(_Row(kind, name, uuid, state, stamp, max(attempt, 1)))
    return out


def _from_latest(
    kind: str, name: str, uuid: str | None, meta: Mapping[str, Any], attempt: int
) -> _Source:
    out = _Source()
    stamps = {s: t for s in states.STATES if (t := _latest(meta, s)) is not None}
    running = stamps.get(states.RUNNING)
    dropped = [s for s, t in stamps.items() if running is not None and t < running]
    kept = {s: t for s, t in stamps.items() if running is None or t >= running}
    number = max(attempt, 1)
    for state, stamp in sorted(kept.items(), key=lambda item: (item[1], _RANK.get(item[0], 3))):
        out.rows.append(_Row(kind, name, uuid, state, stamp, number))
    if dropped or attempt > 1:
        out.notes.append(
            "%s: earlier attempts (TaskFlow meta keeps only the latest time of each state; "
            "older %s times were overwritten)"
            % (name, ", ".join(sorted(dropped)) or states.RUNNING)
        )
    if not stamps and isinstance(meta.get(DURATION_KEY), (int, float)):
        out.notes.append(
            "%s: when it ran (only a duration of %.3f s is stored)" % (name, meta[DURATION_KEY])
        )
    return out


def _source_for(
    kind: str, name: str, uuid: str | None, meta: Mapping[str, Any], attempt: int
) -> _Source:
    if isinstance(meta.get(DURATIONS_KEY), list) and kind != states.KIND_FLOW:
        return _from_durations(kind, name, uuid, meta)
    if any(isinstance(meta.get(timestamps_key(s)), list) for s in states.STATES):
        return _from_lists(kind, name, uuid, meta)
    return _from_latest(kind, name, uuid, meta, attempt)


def _attach_failure(rows: list[_Row], stored: Any) -> None:
    """Put the stored (latest) failure on the latest FAILURE row."""
    details = failure_summary(stored)
    if not details:
        return
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].new_state == states.FAILURE:
            rows[i] = replace(rows[i], details=details)
            return


def timeline_from_meta(
    flow: FlowLike, atoms: Sequence[MetaAtomLike], now: datetime | None = None
) -> Timeline:
    """The flow's timeline from ``flow.meta`` and each atom's ``meta`` (no transitions)."""
    notes: list[str] = []
    rows: list[_Row] = []
    flow_source = _source_for(states.KIND_FLOW, flow.name, None, flow.meta, 0)
    rows.extend(flow_source.rows)
    notes.extend(flow_source.notes)
    for atom in atoms:
        source = _source_for(atom.kind, atom.name, atom.uuid, atom.meta, atom.attempt)
        _attach_failure(source.rows, atom.failure)
        rows.extend(source.rows)
        notes.extend(source.notes)
        if not source.rows and atom.state not in states.UNSTARTED_STATES:
            notes.append("%s: any times (its meta has no timestamps)" % atom.name)
    if not flow_source.rows and rows:
        notes.append("the flow's runs (its meta has no timestamps)")
    ordered = _sequence(rows)
    timeline = build_timeline(
        ordered, flow_uuid=flow.uuid, flow_name=flow.name, atoms=atoms, now=now
    )
    return replace(
        timeline,
        source=SOURCE_META,
        # Nothing recorded at all (e.g. a flow never run): no caveats about what is not there.
        unknown=(*(ALWAYS_UNKNOWN if rows else ()), *notes, *timeline.unknown),
    )


def _sequence(rows: Iterable[_Row]) -> list[_Row]:
    def key(row: _Row) -> tuple[datetime, int]:
        if row.kind == states.KIND_FLOW:
            rank = 0 if row.new_state == states.RUNNING else 9
        else:
            rank = _RANK.get(row.new_state, 3)
        return row.at, rank

    return [replace(row, seq=i + 1) for i, row in enumerate(sorted(rows, key=key))]
