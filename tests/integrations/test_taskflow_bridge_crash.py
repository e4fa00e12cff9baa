"""A TaskFlow run SIGKILLed mid-task under the bridge, then resumed by TaskFlow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.audit import verify_flow
from recorder.cli import main
from recorder.persistence import connect
from tests.integrations import tfflows

ROOT = Path(__file__).resolve().parents[2]


def child(*args: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["CRASH_MARK"] = str(tmp_path / "mark")
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"  # oslo_utils.eventletutils on import
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integrations.tfflows", *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_kill_then_taskflow_resume_continues_the_trail(sqlite_url: str, tmp_path: Path) -> None:
    tf_url = "sqlite:///%s" % (tmp_path / "taskflow.db")
    started = child("start", tf_url, sqlite_url, tmp_path=tmp_path)
    assert started.stdout is not None
    flow_uuid = started.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not (tmp_path / "mark").exists():
        assert started.poll() is None, "the child exited before reaching s1"
        assert time.monotonic() < deadline, "the child never reached s1"
        time.sleep(0.01)
    started.send_signal(signal.SIGKILL)
    assert started.wait(timeout=30) == -signal.SIGKILL
    started.stdout.close()

    before = connect(sqlite_url)
    try:
        crashed = before.load_transitions(flow_uuid)
        assert before.load_flow(flow_uuid).atoms["s1"].state == "RUNNING"
    finally:
        before.close()
    assert crashed[-1].name == "s1" and crashed[-1].new_state == "RUNNING"

    resumed = child("resume", tf_url, sqlite_url, flow_uuid, tmp_path=tmp_path)
    out, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0
    assert json.loads(out.strip().splitlines()[-1])["o2"] == "s2(s1(s0()))"

    result = verify_flow(sqlite_url, flow_uuid)
    assert result.ok, result.reason
    after = connect(sqlite_url)
    try:
        rows = after.load_transitions(flow_uuid)
        stored = after.load_flow(flow_uuid)
    finally:
        after.close()
    assert rows[: len(crashed)] == crashed  # the chain goes on from the crashed run's rows
    restart = rows[len(crashed) :]
    flow_states = [(r.old_state, r.new_state) for r in restart if r.kind == "flow"]
    assert flow_states == [
        ("RUNNING", "RESUMING"),
        ("RESUMING", "SUSPENDED"),
        ("SUSPENDED", "RUNNING"),
        ("RUNNING", "SUCCESS"),
    ]
    s1 = [(r.old_state, r.new_state, r.attempt, r.details) for r in restart if r.name == "s1"]
    assert s1[0] == ("RUNNING", "RUNNING", 2, {"resumed": True})
    assert s1[1][:3] == ("RUNNING", "SUCCESS", 2)
    assert stored.state == "SUCCESS" and stored.atoms["s1"].attempt == 2

    timeline = CliRunner().invoke(main, ["--db", sqlite_url, "timeline", flow_uuid])
    assert timeline.exit_code == 0, timeline.output
    lines = [line.split() for line in timeline.stdout.splitlines()]
    s1_lines = [line for line in lines if line and line[0].lstrip("*") == "s1"]
    assert [line[1] for line in s1_lines] == ["1", "2"]  # the killed attempt and the resumed one
    assert tfflows.CRASH_FLOW in timeline.stdout
