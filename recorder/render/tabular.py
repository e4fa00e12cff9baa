"""CSV and JSON output: one stable shape each, for spreadsheets and scripts.

CSV has one row per phase (so a spreadsheet can sum waiting, running and
reverting time per atom), with the attempt's outcome and failure repeated on
each of its rows. JSON documents carry a ``format`` key naming their shape
and version (see :mod:`recorder.query.model` for the timeline's).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from recorder.query.load import FlowReport
from recorder.query.model import iso
from recorder.query.records import FlowCursor, FlowRecord
from recorder.query.stats import AtomStats, Untracked
from recorder.render.visible import json_escapes

FLOWS_FORMAT = "recorder.flows/1"
STATS_FORMAT = "recorder.stats/1"

CSV_COLUMNS = (
    "flow_uuid",
    "flow_name",
    "atom",
    "kind",
    "attempt",
    "phase",
    "started_at",
    "ended_at",
    "duration_s",
    "end_state",
    "attempt_outcome",
    "revert_outcome",
    "failure_type",
    "failure_message",
    "critical",
)


def dumps(data: Any) -> str:
    """JSON text as every command prints it: indented, keys in their documented order."""
    return json_escapes(json.dumps(data, indent=2, ensure_ascii=False))


def timeline_json(report: FlowReport) -> str:
    return dumps(report.to_json())


class _LineWriter:
    """A csv writer whose rows end in ``\n`` and that quotes a field holding ``\r``.

    csv quotes only the characters of its line terminator, so with ``\n`` a
    recorded ``\r`` would go out bare and a reader would split the row there.
    Each row is written with ``\r\n`` and its last two characters trimmed.
    """

    def __init__(self, out: io.StringIO) -> None:
        self._out = out
        self._row = io.StringIO()
        self._writer = csv.writer(self._row, lineterminator="\r\n")

    def writerow(self, row: Sequence[object]) -> None:
        self._row.seek(0)
        self._row.truncate()
        self._writer.writerow(row)
        self._out.write(self._row.getvalue()[:-2] + "\n")


def timeline_csv(report: FlowReport) -> str:
    """One row per phase; columns in :data:`CSV_COLUMNS`; times ISO-8601 UTC."""
    out = io.StringIO()
    writer = _LineWriter(out)
    writer.writerow(CSV_COLUMNS)
    t = report.timeline
    path = report.critical_path
    for atom in t.atoms:
        for attempt in atom.attempts:
            failure = attempt.failure or attempt.revert_failure
            for phase in attempt.phases:
                on_path = path is not None and path.contains(atom.name, attempt.number, phase.phase)
                writer.writerow(
                    [
                        t.flow_uuid,
                        t.flow_name,
                        atom.name,
                        atom.kind,
                        attempt.number,
                        phase.phase,
                        iso(phase.started_at),
                        iso(phase.ended_at) or "",
                        "" if phase.duration is None else "%.6f" % phase.duration,
                        phase.end_state or "",
                        attempt.outcome or "",
                        attempt.revert_outcome or "",
                        failure.type if failure else "",
                        failure.message if failure else "",
                        "1" if on_path else "0",
                    ]
                )
    return out.getvalue()


def flows_json(
    flows: Sequence[FlowRecord],
    next_page: FlowCursor | None,
    took: Mapping[str, float | None] | None = None,
) -> str:
    """``took``: each flow's ``duration_s`` (:func:`recorder.query.history.flow_durations`)."""
    durations = took or {}
    return dumps(
        {
            "format": FLOWS_FORMAT,
            "flows": [{**f.to_json(), "duration_s": durations.get(f.uuid)} for f in flows],
            "next": next_page.encode() if next_page else None,
        }
    )


def stats_json(stats: Sequence[AtomStats], without_trail: Untracked | None = None) -> str:
    """``without_trail``: the flows/atoms in scope the statistics do not count."""
    return dumps(
        {
            "format": STATS_FORMAT,
            "stats": [s.to_json() for s in stats],
            "without_trail": (without_trail or Untracked()).to_json(),
        }
    )
