"""A stored flow's timeline as an OpenTelemetry trace, in OTLP/JSON (pure; no I/O).

One trace per flow: a root span for the flow (its first start to its last
end; one child span per run when it was resumed), a span per atom attempt with
its exact stored start and end, and a child span per phase of the attempt
(``running``, ``reverting``, ``waiting`` for a retry). Times are integer
nanoseconds from the stored microseconds (``micros * 1000``, never through a
float). Status: OK for an attempt that succeeded (and was not reverted), ERROR
with the failure's type and message for one that failed, UNSET while open.

Ids are derived, not random: the trace id from the flow's uuid, a span id from
the flow, atom, attempt and phase (SHA-256, cut to 16 and 8 bytes), so exporting
twice gives the same ids and a collector deduplicates a re-export.

Attributes follow OpenTelemetry's CI/CD semantic conventions (``cicd.pipeline.name``,
``cicd.pipeline.run.id``, ``cicd.pipeline.task.name``, ``cicd.pipeline.task.run.id``,
``cicd.pipeline.result``, ``cicd.pipeline.task.run.result``) plus ``recorder.*``:
``attempt``, ``kind``, ``seq_first``/``seq_last`` (the attempt's transitions rows)
and, on the root, ``chain_head`` (``seq:hash`` of the flow's newest row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from recorder import states
from recorder.query.load import FlowReport
from recorder.query.model import AtomTimeline, Attempt

SCOPE = "recorder"
SPAN_KIND_INTERNAL = 1
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# recorder's end states -> cicd.pipeline(.task.run).result values of the conventions
_RESULTS = {
    states.SUCCESS: "success",
    states.FAILURE: "failure",
    states.REVERTED: "failure",
    states.REVERT_FAILURE: "error",
    states.SUSPENDED: "cancellation",
}


@dataclass(frozen=True)
class TrailFacts:
    """What the transitions rows add: each attempt's seq range and the chain head."""

    seqs: Mapping[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    head: tuple[int, str] | None = None


def trail_facts(rows: Iterable[Any]) -> TrailFacts:
    """Seq ranges by ``(atom_uuid, attempt)`` (the flow's own rows under ``("", 0)``)."""
    seqs: dict[tuple[str, int], tuple[int, int]] = {}
    head = None
    for row in rows:
        key = (row.atom_uuid or "", int(row.attempt))
        first, _ = seqs.get(key, (row.seq, row.seq))
        seqs[key] = (first, row.seq)
        head = (row.seq, row.hash)
    return TrailFacts(seqs, head)


def nanos(at: datetime) -> int:
    """Unix nanoseconds of a stored (microsecond) time, exactly."""
    return ((at - _EPOCH) // timedelta(microseconds=1)) * 1000


def trace_id(flow_uuid: str) -> str:
    return hashlib.sha256(("recorder/trace/" + flow_uuid).encode()).hexdigest()[:32]


def span_id(flow_uuid: str, *parts: object) -> str:
    text = "/".join(["recorder/span", flow_uuid, *map(str, parts)])
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return digest if digest != "0" * 16 else "1" * 16


def _value(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # OTLP/JSON: 64-bit ints as strings
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(values: Mapping[str, object]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in values.items() if v is not None]


def _span(
    trace: str,
    ident: str,
    parent: str | None,
    name: str,
    start: datetime,
    end: datetime,
    attributes: Mapping[str, object],
    status: tuple[int, str] = (STATUS_UNSET, ""),
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace,
        "spanId": ident,
        "name": name,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(nanos(start)),
        "endTimeUnixNano": str(nanos(max(end, start))),
        "attributes": _attributes(attributes),
        "status": {"code": status[0], **({"message": status[1]} if status[1] else {})},
    }
    if parent is not None:
        span["parentSpanId"] = parent
    return span


def _attempt_status(attempt: Attempt) -> tuple[int, str]:
    failure = attempt.failure or attempt.revert_failure
    if failure is not None:
        return STATUS_ERROR, "%s: %s" % (failure.type, failure.message)
    if attempt.open:
        return STATUS_UNSET, ""
    if attempt.outcome == states.SUCCESS and attempt.revert_outcome is None:
        return STATUS_OK, ""
    return STATUS_ERROR, "ended %s" % (attempt.revert_outcome or attempt.outcome)


def _attempt_result(attempt: Attempt) -> str | None:
    if attempt.open:
        return None
    if attempt.revert_outcome is not None:
        return _RESULTS.get(attempt.revert_outcome, "failure")
    return _RESULTS.get(attempt.outcome or "")


def attempt_spans(
    report: FlowReport, atom: AtomTimeline, attempt: Attempt, root: str, facts: TrailFacts
) -> list[dict[str, Any]]:
    """The span of one attempt and its phases' child spans."""
    flow = report.flow
    trace = trace_id(flow.uuid)
    as_of = report.timeline.as_of or datetime.now(timezone.utc)
    start = attempt.started_at or as_of
    end = attempt.ended_at or as_of
    ident = span_id(flow.uuid, atom.uuid or atom.name, attempt.number)
    first, last = facts.seqs.get((atom.uuid or "", attempt.number), (None, None))
    attributes: dict[str, object] = {
        "cicd.pipeline.name": flow.name,
        "cicd.pipeline.run.id": flow.uuid,
        "cicd.pipeline.task.name": atom.name,
        "cicd.pipeline.task.run.id": "%s#%d" % (atom.uuid or atom.name, attempt.number),
        "cicd.pipeline.task.run.result": _attempt_result(attempt),
        "recorder.attempt": attempt.number,
        "recorder.kind": atom.kind,
        "recorder.seq_first": first,
        "recorder.seq_last": last,
        "recorder.open": attempt.open or None,
    }
    spans = [_span(trace, ident, root, atom.name, start, end, attributes, _attempt_status(attempt))]
    for index, phase in enumerate(attempt.phases):
        spans.append(
            _span(
                trace,
                span_id(flow.uuid, atom.uuid or atom.name, attempt.number, index, phase.phase),
                ident,
                phase.phase,
                phase.started_at,
                phase.ended_at or as_of,
                {"recorder.phase": phase.phase, "recorder.end_state": phase.end_state},
            )
        )
    return spans


def trace_document(report: FlowReport, facts: TrailFacts, version: str) -> dict[str, Any]:
    """The OTLP/JSON ``TracesData`` of one flow (one ``resourceSpans`` entry)."""
    flow, timeline = report.flow, report.timeline
    trace = trace_id(flow.uuid)
    as_of = timeline.as_of or datetime.now(timezone.utc)
    start = timeline.started_at or flow.created_at
    end = timeline.ended_at or as_of
    root = span_id(flow.uuid)
    head = facts.head
    state = timeline.state or flow.state
    status = (STATUS_UNSET, "")
    if state == states.SUCCESS:
        status = (STATUS_OK, "")
    elif state in (states.FAILURE, states.REVERTED, states.REVERT_FAILURE):
        status = (STATUS_ERROR, "flow ended %s" % state)
    spans = [
        _span(
            trace,
            root,
            None,
            flow.name,
            start,
            end,
            {
                "cicd.pipeline.name": flow.name,
                "cicd.pipeline.run.id": flow.uuid,
                "cicd.pipeline.result": _RESULTS.get(state or ""),
                "recorder.kind": states.KIND_FLOW,
                "recorder.source": timeline.source,
                "recorder.runs": len(timeline.runs),
                "recorder.seq_first": 1 if head else None,
                "recorder.seq_last": head[0] if head else None,
                "recorder.chain_head": "%d:%s" % head if head else None,
            },
            status,
        )
    ]
    if len(timeline.runs) > 1:
        for run in timeline.runs:
            spans.append(
                _span(
                    trace,
                    span_id(flow.uuid, "run", run.number),
                    root,
                    "run %d" % run.number,
                    run.started_at,
                    run.ended_at or as_of,
                    {"recorder.run": run.number, "recorder.end_state": run.end_state},
                )
            )
    for atom in timeline.atoms:
        for attempt in atom.attempts:
            spans.extend(attempt_spans(report, atom, attempt, root, facts))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes({"service.name": "recorder"})},
                "scopeSpans": [{"scope": {"name": SCOPE, "version": version}, "spans": spans}],
            }
        ]
    }
