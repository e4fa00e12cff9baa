"""``recorder serve`` as a real subprocess on a free port, stopped at the end."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.crashflow import ROOT


@contextmanager
def served(url: str, *, poll: float = 0.5) -> Iterator[str]:
    """Start the server on ``url``; yield its base URL (``http://127.0.0.1:PORT``)."""
    command = [sys.executable, "-m", "recorder.cli", "--db", url, "serve", "--port", "0"]
    child = subprocess.Popen(
        [*command, "--poll", str(poll)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    try:
        first = child.stdout.readline()
        found = re.search(r"serving (http://127\.0\.0\.1:\d+)/", first)
        if found is None:
            child.kill()
            raise AssertionError("serve did not start: %r %s" % (first, child.stderr.read()))
        yield found.group(1)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()


def get_json(url: str) -> Any:
    """A JSON document from the server (loopback only)."""
    assert url.startswith("http://127.0.0.1:"), url
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)
