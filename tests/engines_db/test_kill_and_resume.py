"""SIGKILL a real process in the middle of a flow, then resume it in a new one.

Durable mode: every SUCCESS the engine went on from was committed, so no task
that finished runs again; the task that was running when the process died runs
again (at-least-once), and the results are complete and right.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recorder.persistence import connect
from tests.support.crashflow import (
    child_env,
    expected_results,
    ran,
    resume_in_child,
    start_and_kill,
)

EXPECTED = expected_results(6)


@pytest.mark.slow
def test_durable_kill_and_resume(db_url: str, tmp_path: Path) -> None:
    flow_uuid = start_and_kill(db_url, tmp_path, mode="durable")

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

    assert resume_in_child(db_url, flow_uuid, "durable", tmp_path) == EXPECTED
    ran_counts = ran(tmp_path)
    assert ran_counts == {"s00": 1, "s01": 1, "s02": 1, "s03": 2, "s04": 1, "s05": 1}

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
    flow_uuid = start_and_kill(db_url, tmp_path, mode="batched", grace=0.5)
    backend = connect(db_url)
    try:
        stored = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    committed_success = {n for n, a in stored.atoms.items() if a.state == "SUCCESS"}
    assert committed_success == {"s00", "s01", "s02"}
    assert stored.atoms["s03"].state == "RUNNING"

    assert resume_in_child(db_url, flow_uuid, "batched", tmp_path) == EXPECTED
    ran_counts = ran(tmp_path)
    # What a crash can cost in batched mode: tasks whose SUCCESS was not yet
    # committed run again; a task whose SUCCESS was committed never does.
    assert all(ran_counts[name] == 1 for name in committed_success)
    assert ran_counts["s03"] == 2
    assert set(ran_counts) == {"s%02d" % i for i in range(6)}


@pytest.mark.slow
def test_killed_flow_resumed_by_the_cli(db_url: str, tmp_path: Path) -> None:
    """`recorder resume` in a new process continues from the database alone."""
    flow_uuid = start_and_kill(db_url, tmp_path, mode="durable")
    out = subprocess.run(
        [sys.executable, "-m", "recorder.cli", "--db", db_url, "resume", flow_uuid[:12]],
        env=child_env(tmp_path, crash_at=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "from RUNNING" in out.stdout and out.stdout.rstrip().endswith("is SUCCESS")
    assert ran(tmp_path) == {"s00": 1, "s01": 1, "s02": 1, "s03": 2, "s04": 1, "s05": 1}
    backend = connect(db_url)
    try:
        final = backend.load_flow(flow_uuid)
    finally:
        backend.close()
    assert {name: atom.results for name, atom in final.atoms.items()} == {
        name[:-4]: value for name, value in EXPECTED.items() if name != "seed"
    }
