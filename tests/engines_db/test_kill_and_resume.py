"""SIGKILL a real process in the middle of a flow, then resume it in a new one.

Durable mode: every SUCCESS the engine went on from was committed, so no task
that finished runs again; the task that was running when the process died runs
again (at-least-once), and the results are complete and right.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from recorder.persistence import connect

HERE = Path(__file__).parent
EXPECTED = {
    "seed": "x",
    "s00_out": "s00(x)",
    "s01_out": "s01(s00(x))",
    "s02_out": "s02(s01(s00(x)))",
    "s03_out": "s03(s02(s01(s00(x))))",
    "s04_out": "s04(s03(s02(s01(s00(x)))))",
    "s05_out": "s05(s04(s03(s02(s01(s00(x))))))",
}


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    env["CRASH_LOG"] = str(tmp_path / "ran.log")
    env["CRASH_MARK"] = str(tmp_path / "mark")
    env["CRASH_AT"] = "s03"
    return env


def _ran(tmp_path: Path) -> Counter[str]:
    return Counter((tmp_path / "ran.log").read_text().split())


def _start_and_kill(db_url: str, mode: str, tmp_path: Path, grace: float = 0.0) -> str:
    env = _env(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "crashflow", "start", db_url, mode],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    flow_uuid = child.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not (tmp_path / "mark").exists():
        assert child.poll() is None, "child exited before reaching the crash point"
        assert time.monotonic() < deadline, "child never reached the crash point"
        time.sleep(0.01)
    time.sleep(grace)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    return flow_uuid


def _resume(db_url: str, flow_uuid: str, mode: str, tmp_path: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "crashflow", "resume", db_url, flow_uuid, mode],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_durable_kill_and_resume(db_url: str, tmp_path: Path) -> None:
    flow_uuid = _start_and_kill(db_url, "durable", tmp_path)

    backend = connect(db_url)
    try:
        stored = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    assert stored.state == "RUNNING"
    assert [stored.atoms["s%02d" % i].state for i in range(6)] == [
        "SUCCESS", "SUCCESS", "SUCCESS", "RUNNING", "PENDING", "PENDING",
    ]  # fmt: skip
    assert stored.atoms["s01"].results == "s01(s00(x))"

    assert _resume(db_url, flow_uuid, "durable", tmp_path) == EXPECTED
    ran = _ran(tmp_path)
    assert ran == {"s00": 1, "s01": 1, "s02": 1, "s03": 2, "s04": 1, "s05": 1}

    backend = connect(db_url)
    try:
        final = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    assert final.state == "SUCCESS"
    assert final.atoms["s03"].attempt == 2 and final.atoms["s02"].attempt == 1


@pytest.mark.slow
def test_batched_kill_and_resume_reruns_only_uncommitted_work(db_url: str, tmp_path: Path) -> None:
    # The documented bound: under light load a batched writer commits what was
    # queued within flush_interval (50 ms) plus one commit. Kill well after that.
    flow_uuid = _start_and_kill(db_url, "batched", tmp_path, grace=0.5)
    backend = connect(db_url)
    try:
        stored = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    committed_success = {n for n, a in stored.atoms.items() if a.state == "SUCCESS"}
    assert committed_success == {"s00", "s01", "s02"}
    assert stored.atoms["s03"].state == "RUNNING"

    assert _resume(db_url, flow_uuid, "batched", tmp_path) == EXPECTED
    ran = _ran(tmp_path)
    # What a crash can cost in batched mode: tasks whose SUCCESS was not yet
    # committed run again; a task whose SUCCESS was committed never does.
    assert all(ran[name] == 1 for name in committed_success)
    assert ran["s03"] == 2
    assert set(ran) == {"s%02d" % i for i in range(6)}


@pytest.mark.slow
def test_killed_flow_resumed_by_the_cli(db_url: str, tmp_path: Path) -> None:
    """`recorder resume` in a new process continues from the database alone."""
    flow_uuid = _start_and_kill(db_url, "durable", tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "recorder.cli", "--db", db_url, "resume", flow_uuid[:12]],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "from RUNNING" in out.stdout and out.stdout.rstrip().endswith("is SUCCESS")
    assert _ran(tmp_path) == {"s00": 1, "s01": 1, "s02": 1, "s03": 2, "s04": 1, "s05": 1}
    backend = connect(db_url)
    try:
        final = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    assert {name: atom.results for name, atom in final.atoms.items()} == {
        name[:-4]: value for name, value in EXPECTED.items() if name != "seed"
    }
