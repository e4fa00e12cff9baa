"""OTLP/JSON to OTLP's protobuf (the ``otel`` extra: ``opentelemetry-proto``).

The document :mod:`recorder.export.otel` builds is checked against OTLP's own
schema by parsing it into ``TracesData`` (an unknown or misspelt field fails),
and that message is what ``--endpoint`` posts, as OTLP/HTTP's default
``application/x-protobuf``. OTLP/JSON writes trace and span ids as hex where
protobuf's JSON mapping expects base64: they are converted on the way.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from recorder.exceptions import InstallationError, InvalidFormat


def _proto() -> Any:
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.trace.v1 import trace_pb2
    except ImportError as exc:
        raise InstallationError(
            "OpenTelemetry export needs the otel extra: pip install 'flow-recorder[otel]'"
        ) from exc
    return json_format, trace_pb2


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")


def to_message(document: dict[str, Any]) -> Any:
    """``TracesData`` from an OTLP/JSON document; InvalidFormat if it is not one."""
    json_format, trace_pb2 = _proto()
    data = copy.deepcopy(document)
    for resource in data.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _b64(span[key])
    try:
        return json_format.ParseDict(data, trace_pb2.TracesData())
    except json_format.ParseError as exc:
        raise InvalidFormat("not an OTLP trace: %s" % exc) from exc


def to_protobuf(document: dict[str, Any]) -> bytes:
    """The ``ExportTraceServiceRequest`` body (same fields as ``TracesData``)."""
    message: Any = to_message(document)
    body: bytes = message.SerializeToString()
    return body
