"""Flows for the web tests: a 200-atom parallel run and a resumed run with a long gap.

Both are real engine runs recorded into the test's database. The long gap is
real too: the resuming process runs under libfaketime (Debian ``faketime``)
three hours ahead, so its rows carry times three hours after the crash, and
the hash chain verifies as for any resumed flow.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recorder import task
from recorder.patterns import unordered_flow
from tests.query.runs import record
from tests.support.crashflow import child_env, start_and_kill

REQUIRE = os.environ.get("RECORDER_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"
GAP_HOURS = 3


class Nap(task.Task):
    """Sleeps a few milliseconds (different per atom) so bars have widths."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(name)
        self.seconds = seconds

    def execute(self) -> str:
        time.sleep(self.seconds)
        return self.name


def record_parallel(url: str, atoms: int = 200) -> str:
    """One parallel flow of ``atoms`` independent tasks (names long enough to be cut)."""
    flow = unordered_flow.Flow("wide-parallel-fan-out")
    for i in range(atoms):
        flow.add(Nap("resize-image-shard-%03d-of-%03d" % (i, atoms), 0.002 + (i % 7) * 0.002))
    return record(url, flow, engine="parallel")


def faketime_library() -> str:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        reason = "no libfaketime (Debian package 'faketime') for the long-gap resume"
        if REQUIRE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found[0]


def record_resumed(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """crashflow's 6 steps: SIGKILLed inside s03, resumed GAP_HOURS later; its uuid."""
    library = faketime_library()
    monkeypatch.setenv("CRASH_STEP_SLEEP", "0.02")
    uuid = start_and_kill(url, tmp_path, size=6, crash_at="s03", record=True)
    env = child_env(tmp_path, crash_at="")
    env.update({"LD_PRELOAD": library, "FAKETIME": "+%dh" % GAP_HOURS})
    subprocess.run(
        [sys.executable, "-m", "tests.support.crashflow", "resume", url, uuid, "durable"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return uuid
