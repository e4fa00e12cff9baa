"""Post a trace to an OTLP/HTTP receiver (``/v1/traces``, protobuf body)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from recorder.exceptions import InvalidArgument, OutputFailed

TRACES_PATH = "/v1/traces"


def traces_url(endpoint: str) -> str:
    """``endpoint`` as OTLP/HTTP's traces URL: a bare ``http://host:port`` gets ``/v1/traces``."""
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument("--endpoint must be an http(s) URL, not %r" % endpoint)
    if parts.path in ("", "/"):
        parts = parts._replace(path=TRACES_PATH)
    return urllib.parse.urlunsplit(parts)


def post_traces(endpoint: str, body: bytes, timeout: float = 10.0) -> str:
    """Send ``body`` (an ExportTraceServiceRequest); return the URL it went to."""
    url = traces_url(endpoint)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/x-protobuf"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise OutputFailed(
            "the OTLP receiver at %s answered %d %s" % (url, exc.code, exc.reason)
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise OutputFailed("cannot send the trace to %s: %s" % (url, reason)) from exc
    return url
