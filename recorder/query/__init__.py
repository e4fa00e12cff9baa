"""The query layer: read what was recorded and turn it into answers.

Reads (:mod:`.reads`, :mod:`.stats`) take a SQLAlchemy Connection and run
index-friendly SQL; everything else is pure functions over what they return:
:func:`build_timeline` (from transitions rows), :func:`timeline_from_meta` (from
TaskFlow-style meta), :func:`critical_path`, :func:`failures_from_transitions`.
:func:`load_timeline` picks the source for one flow. Results are frozen
dataclasses whose ``to_json()`` shape is documented in :mod:`.model`.

Names load lazily (on first use), so importing one light submodule, or the
CLI, does not pull in SQLAlchemy's ORM through the reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Eager, and first: the function shares its name with its module, and the import
# system would otherwise leave the module under that name. The module is light.
from recorder.query.critical_path import CriticalPath, Step, critical_path

if TYPE_CHECKING:
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

_WHERE = {
    "atom_names": "recorder.query.reads",
    "atom_stats": "recorder.query.stats",
    "AtomRecord": "recorder.query.records",
    "atoms_of": "recorder.query.reads",
    "AtomStats": "recorder.query.stats",
    "AtomTimeline": "recorder.query.model",
    "Attempt": "recorder.query.model",
    "build_timeline": "recorder.query.timeline",
    "FailedAttempt": "recorder.query.failures",
    "FailureEpisode": "recorder.query.failures",
    "FailureInfo": "recorder.query.model",
    "failures_from_timeline": "recorder.query.failures",
    "failures_from_transitions": "recorder.query.failures",
    "find_flow": "recorder.query.reads",
    "FlowCursor": "recorder.query.records",
    "FlowRecord": "recorder.query.records",
    "FlowReport": "recorder.query.load",
    "get_flow": "recorder.query.reads",
    "list_flows": "recorder.query.reads",
    "load_report": "recorder.query.load",
    "load_timeline": "recorder.query.load",
    "Page": "recorder.query.records",
    "parse_when": "recorder.query.when",
    "Phase": "recorder.query.model",
    "Revert": "recorder.query.failures",
    "RunSegment": "recorder.query.model",
    "Timeline": "recorder.query.model",
    "TIMELINE_FORMAT": "recorder.query.model",
    "timeline_from_meta": "recorder.query.from_meta",
    "timeline_rows": "recorder.query.reads",
    "TimelineRow": "recorder.query.records",
    "TransitionRecord": "recorder.query.records",
    "transitions_of": "recorder.query.reads",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
