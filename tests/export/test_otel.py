"""``recorder export otel``: the demo flow's trace matches its timeline attempt for attempt."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from opentelemetry.proto.trace.v1 import trace_pb2

from recorder.cli import main
from recorder.persistence import connect
from tests.query.runs import record_demo

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def nanos(iso: str) -> int:
    return ((datetime.fromisoformat(iso) - EPOCH) // timedelta(microseconds=1)) * 1000


def attrs(span: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for item in span["attributes"]:
        ((kind, value),) = item["value"].items()
        out[item["key"]] = int(value) if kind == "intValue" else value
    return out


def spans_of(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    assert len(lines) == 1  # JSON Lines: one TracesData per line
    (resource,) = json.loads(lines[0])["resourceSpans"]
    (scope,) = resource["scopeSpans"]
    assert scope["scope"]["name"] == "recorder"
    spans: list[dict[str, Any]] = scope["spans"]
    return spans


def test_the_demo_trace_matches_its_timeline(sqlite_url: str, tmp_path: Path) -> None:
    flow_uuid = record_demo(sqlite_url)
    out = tmp_path / "trace.jsonl"
    result = cli(sqlite_url, "export", "otel", flow_uuid, "-o", str(out))
    assert result.exit_code == 0, result.output
    spans = spans_of(out)
    timeline = json.loads(cli(sqlite_url, "timeline", flow_uuid, "--format", "json").stdout)

    root = spans[0]
    assert "parentSpanId" not in root and root["name"] == "order-fulfilment"
    assert attrs(root)["cicd.pipeline.run.id"] == flow_uuid
    assert attrs(root)["cicd.pipeline.result"] == "failure"  # the demo's courier fails
    assert root["status"]["code"] == 2
    assert int(root["startTimeUnixNano"]) == nanos(timeline["started_at"])
    assert int(root["endTimeUnixNano"]) == nanos(timeline["ended_at"])
    assert {s["traceId"] for s in spans} == {root["traceId"]} and len(root["traceId"]) == 32

    attempt_spans = [s for s in spans if s.get("parentSpanId") == root["spanId"]]
    by_attempt = {
        (attrs(s)["cicd.pipeline.task.name"], attrs(s)["recorder.attempt"]): s
        for s in attempt_spans
    }
    expected = [(a["name"], t) for a in timeline["atoms"] for t in a["attempts"]]
    assert sorted(by_attempt) == sorted((name, t["attempt"]) for name, t in expected)
    rows = connect(sqlite_url)
    try:
        trail = rows.load_transitions(flow_uuid)
    finally:
        rows.close()
    for name, attempt in expected:
        span = by_attempt[(name, attempt["attempt"])]
        assert int(span["startTimeUnixNano"]) == nanos(attempt["started_at"])
        assert int(span["endTimeUnixNano"]) == nanos(attempt["ended_at"])
        failed = attempt["failure"] is not None
        clean = attempt["outcome"] == "SUCCESS" and attempt["revert_outcome"] is None
        assert span["status"]["code"] == (2 if failed or not clean else 1), (name, attempt)
        if failed:
            assert attempt["failure"]["type"] in span["status"]["message"]
        phases = [s for s in spans if s.get("parentSpanId") == span["spanId"]]
        assert [(p["name"], int(p["startTimeUnixNano"])) for p in phases] == [
            (p["phase"], nanos(p["started_at"])) for p in attempt["phases"]
        ]
        mine = [r.seq for r in trail if r.name == name and r.attempt == attempt["attempt"]]
        assert (attrs(span)["recorder.seq_first"], attrs(span)["recorder.seq_last"]) == (
            min(mine),
            max(mine),
        )
    assert attrs(root)["recorder.chain_head"] == "%d:%s" % (trail[-1].seq, trail[-1].hash)
    retried = [k for k in by_attempt if k[1] > 1]
    assert retried  # the demo's carrier API is retried: more than one attempt span

    again = tmp_path / "again.jsonl"
    assert cli(sqlite_url, "export", "otel", flow_uuid, "-o", str(again)).exit_code == 0
    assert again.read_text() == out.read_text()  # same ids, same bytes


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that keeps what is posted to it."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_endpoint_gets_the_same_trace_as_protobuf(
    sqlite_url: str, tmp_path: Path, receiver: str
) -> None:
    flow_uuid = record_demo(sqlite_url, fails=False)
    out = tmp_path / "trace.jsonl"
    result = cli(sqlite_url, "export", "otel", flow_uuid, "-o", str(out), "--endpoint", receiver)
    assert result.exit_code == 0, result.output
    assert "sent %d span(s) to %s/v1/traces" % (len(spans_of(out)), receiver) in result.stderr
    ((path, content_type, body),) = _Receiver.received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    message = trace_pb2.TracesData.FromString(body)  # ExportTraceServiceRequest's field 1
    posted = message.resource_spans[0].scope_spans[0].spans
    from_file = spans_of(out)
    assert [(s.span_id.hex(), s.name, s.start_time_unix_nano) for s in posted] == [
        (s["spanId"], s["name"], int(s["startTimeUnixNano"])) for s in from_file
    ]
    assert posted[0].status.code == trace_pb2.Status.STATUS_CODE_OK


def test_an_unreachable_endpoint_is_one_line(sqlite_url: str) -> None:
    flow_uuid = record_demo(sqlite_url)
    result = cli(sqlite_url, "export", "otel", flow_uuid, "--endpoint", "http://127.0.0.1:1")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot send the trace to http://127.0.0.1:1/v1/traces" in lines[0]
    bad = cli(sqlite_url, "export", "otel", flow_uuid, "--endpoint", "ftp://x")
    assert bad.exit_code == 1 and "must be an http(s) URL" in bad.stderr
