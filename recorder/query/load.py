"""One flow's full post-mortem from the database: pick the source, build, analyse.

The transitions trail is preferred (it is complete); a flow that has none
(written by TaskFlow, or by the timing listeners without the persistent
capture) is rebuilt from its meta instead, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy.engine import Connection

from recorder.exceptions import InvalidArgument
from recorder.query.critical_path import CriticalPath, critical_path
from recorder.query.failures import (
    FailureEpisode,
    failures_from_timeline,
    failures_from_transitions,
    with_stored_failures,
)
from recorder.query.from_meta import timeline_from_meta
from recorder.query.model import JSON, SOURCES, Timeline
from recorder.query.reads import atom_names, atoms_of, stored_failures, timeline_rows
from recorder.query.records import FlowRecord
from recorder.query.timeline import build_timeline
from recorder.query.workers import claims_of_flow, with_workers


def load_timeline(
    conn: Connection, flow: FlowRecord, *, source: str = "auto", now: datetime | None = None
) -> Timeline:
    """The flow's timeline from ``source``: "transitions", "meta", or "auto" (the first
    that has anything). ``now`` (default: the current time) measures open phases."""
    return load_report(conn, flow, source=source, now=now).timeline


@dataclass(frozen=True)
class FlowReport:
    """A flow, its timeline, the critical path of its last run and its failure episodes."""

    flow: FlowRecord
    timeline: Timeline
    critical_path: CriticalPath | None
    failures: tuple[FailureEpisode, ...]

    def to_json(self) -> JSON:
        """The timeline's JSON with ``critical_path`` and ``failures`` added."""
        data = self.timeline.to_json()
        data["flow"] = {**data["flow"], **self.flow.to_json()}
        data["critical_path"] = self.critical_path.to_json() if self.critical_path else None
        data["failures"] = [f.to_json() for f in self.failures]
        return data


def load_report(
    conn: Connection, flow: FlowRecord, *, source: str = "auto", now: datetime | None = None
) -> FlowReport:
    """Read the flow's rows once and build everything ``recorder show``/``timeline`` print."""
    if source not in SOURCES:
        raise InvalidArgument("source must be one of %s, not %r" % (", ".join(SOURCES), source))
    now = now or datetime.now(timezone.utc)
    rows = timeline_rows(conn, flow.uuid) if source != "meta" else []
    if rows or source == "transitions":
        names = atom_names(conn, flow.uuid)
        timeline = build_timeline(
            rows, flow_uuid=flow.uuid, flow_name=flow.name, atoms=names, now=now
        )
        if timeline.state is None:
            timeline = replace(timeline, state=flow.state)
        timeline = with_workers(timeline, claims_of_flow(conn, flow.uuid))
        episodes = failures_from_transitions(rows)
    else:
        timeline = timeline_from_meta(flow, atoms_of(conn, flow.uuid), now=now)
        episodes = failures_from_timeline(timeline)
    if episodes:
        episodes = with_stored_failures(episodes, stored_failures(conn, flow.uuid))
    return FlowReport(flow, timeline, critical_path(timeline), episodes)
