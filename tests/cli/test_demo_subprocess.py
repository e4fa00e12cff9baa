"""`recorder demo` as a user runs it: a real process, in an empty directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RECORDER = shutil.which("recorder", path=str(Path(sys.executable).parent)) or "recorder"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RECORDER_DATABASE_URL"}
    return subprocess.run(
        [RECORDER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_demo_records_prints_a_timeline_and_writes_the_page(tmp_path: Path) -> None:
    result = run(tmp_path, "demo", "--speed", "10")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "created the recorder schema in sqlite:///recorder.db" in out
    assert "the flow failed as planned (CourierUnavailable" in out
    assert "fetch-shipping-quote" in out and "critical path" in out
    page = tmp_path / "recorder-demo.html"
    assert all(len(line) <= 80 for line in out.splitlines() if str(page) not in line)
    assert "Gantt page: %s" % page in out
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "recorder.db").exists()

    again = run(tmp_path, "demo", "--speed", "10")  # a second run reuses the schema
    assert again.returncode == 0 and "created the recorder schema" not in again.stdout
    verify = run(tmp_path, "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("ok: 2 flow(s)")
    flows = run(tmp_path, "flows")
    assert flows.stdout.count("order-fulfilment") == 2


def test_commands_on_a_missing_database_say_how_to_create_it(tmp_path: Path) -> None:
    result = run(tmp_path, "flows")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "recorder: error: database at sqlite:///recorder.db does not exist: "
        "run `recorder db upgrade --db sqlite:///recorder.db`"
    ]
    assert not (tmp_path / "recorder.db").exists()
