"""The query layer: read what was recorded and turn it into answers.

Reads (:mod:`.reads`, :mod:`.stats`) take a SQLAlchemy Connection and run
index-friendly SQL; everything else is pure functions over what they return:
:func:`build_timeline` (from transitions rows), :func:`timeline_from_meta` (from
TaskFlow-style meta), :func:`critical_path`, :func:`failures_from_transitions`.
:func:`load_timeline` picks the source for one flow. Results are frozen
dataclasses whose ``to_json()`` shape is documented in :mod:`.model`.
"""

from __future__ import annotations

from recorder.query.critical_path import CriticalPath, Step, critical_path
from recorder.query.failures import (
    FailedAttempt,
    FailureEpisode,
    Revert,
    failures_from_timeline,
    failures_from_transitions,
)
from recorder.query.from_meta import timeline_from_meta
from recorder.query.load import FlowReport, load_report, load_timeline
from recorder.query.model import (
    TIMELINE_FORMAT,
    AtomTimeline,
    Attempt,
    FailureInfo,
    Phase,
    RunSegment,
    Timeline,
)
from recorder.query.reads import (
    atom_names,
    atoms_of,
    find_flow,
    get_flow,
    list_flows,
    timeline_rows,
    transitions_of,
)
from recorder.query.records import (
    AtomRecord,
    FlowCursor,
    FlowRecord,
    Page,
    TimelineRow,
    TransitionRecord,
)
from recorder.query.stats import AtomStats, atom_stats
from recorder.query.timeline import build_timeline
from recorder.query.when import parse_when

__all__ = [
    "TIMELINE_FORMAT",
    "AtomRecord",
    "AtomStats",
    "AtomTimeline",
    "Attempt",
    "CriticalPath",
    "FailedAttempt",
    "FailureEpisode",
    "FailureInfo",
    "FlowCursor",
    "FlowRecord",
    "FlowReport",
    "Page",
    "Phase",
    "Revert",
    "RunSegment",
    "Step",
    "Timeline",
    "TimelineRow",
    "TransitionRecord",
    "atom_names",
    "atom_stats",
    "atoms_of",
    "build_timeline",
    "critical_path",
    "failures_from_timeline",
    "failures_from_transitions",
    "find_flow",
    "get_flow",
    "list_flows",
    "load_report",
    "load_timeline",
    "parse_when",
    "timeline_from_meta",
    "timeline_rows",
    "transitions_of",
]
