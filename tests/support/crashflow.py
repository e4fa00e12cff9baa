"""The flow every crash test kills: run in a child process, SIGKILLed mid-task.

Child side (``python -m tests.support.crashflow start URL MODE [record]`` or ``resume URL UUID
MODE``, with the repository root on PYTHONPATH): a linear flow ``s00 -> s01 -> ...``
where each step returns ``name(input)``. Every execution appends the step's
name to ``$CRASH_LOG`` (fsynced) when that is set, so a parent can count how
often each step really ran; ``$CRASH_STEP_SLEEP`` makes each step take that
many seconds and ``$CRASH_PROGRESS`` makes it report progress (a meta write).
The step named ``$CRASH_AT`` creates ``$CRASH_MARK`` on its first run and sleeps
until it is killed.

Parent side: :func:`start_and_kill` runs the child, waits for the mark and
kills it with SIGKILL; :func:`ran` counts the executions.
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
from typing import Any

import recorder
from recorder import engines, task
from recorder.patterns import linear_flow
from tests.support.faults import sessions, wait_until_gone

ROOT = Path(__file__).resolve().parents[2]  # the repository: `tests` is a package in it
FLOW_NAME = "crashy"


class Step(task.Task):
    def execute(self, **inputs: Any) -> str:
        log = os.environ.get("CRASH_LOG")
        if log:
            with open(log, "a") as out:
                out.write(self.name + "\n")
                out.flush()
                os.fsync(out.fileno())
        if os.environ.get("CRASH_PROGRESS"):
            self.update_progress(0.5)  # a meta write from inside the task
        time.sleep(float(os.environ.get("CRASH_STEP_SLEEP", "0")))
        mark = os.environ.get("CRASH_MARK", "")
        if self.name == os.environ.get("CRASH_AT") and mark and not os.path.exists(mark):
            with open(mark, "w"):
                pass
            time.sleep(120)  # killed here
        return "%s(%s)" % (self.name, ",".join(str(inputs[k]) for k in sorted(inputs)))


def make_flow(size: int) -> linear_flow.Flow:
    flow = linear_flow.Flow(FLOW_NAME)
    previous = "seed"
    for i in range(size):
        name = "s%02d" % i
        flow.add(Step(name, provides=name + "_out", requires=[previous]))
        previous = name + "_out"
    return flow


def expected_results(size: int) -> dict[str, str]:
    """What ``fetch_all()`` holds after a complete run (seed 'x')."""
    results = {"seed": "x"}
    previous = "x"
    for i in range(size):
        previous = "s%02d(%s)" % (i, previous)
        results["s%02d_out" % i] = previous
    return results


# -- child side --------------------------------------------------------------


def start(url: str, mode: str, size: int, record: bool) -> None:
    engine = engines.load_from_factory(
        make_flow, factory_args=[size], store={"seed": "x"}, backend=url, mode=mode
    )
    print(engine.storage.flow_uuid, flush=True)
    if record:
        with recorder.record(engine):
            engine.run()
    else:
        engine.run()
    engine.close()


def resume(url: str, flow_uuid: str, mode: str) -> None:
    from recorder.persistence import connect

    backend = connect(url, mode=mode)
    engine = engines.load_from_detail(backend.load_flow(flow_uuid), backend=backend)
    engine.run()
    backend.close()
    print(json.dumps(engine.storage.fetch_all(), sort_keys=True), flush=True)


# -- parent side -------------------------------------------------------------


def child_env(tmp_path: Path, crash_at: str) -> dict[str, str]:
    env = dict(os.environ)
    # The child imports this module as tests.support.crashflow, from the repository root.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["CRASH_LOG"] = str(tmp_path / "ran.log")
    env["CRASH_MARK"] = str(tmp_path / "mark")
    env["CRASH_AT"] = crash_at
    return env


def start_and_kill(
    db_url: str,
    tmp_path: Path,
    *,
    mode: str = "durable",
    size: int = 6,
    crash_at: str = "s03",
    record: bool = False,
    grace: float = 0.0,
) -> str:
    """Run the flow in a child, SIGKILL it inside ``crash_at`` (``grace`` seconds
    after it got there), and return the flow's uuid."""
    before = sessions(db_url)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashflow", "start", db_url, mode, str(size)]
        + (["record"] if record else []),
        env=child_env(tmp_path, crash_at),
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
    child.stdout.close()
    wait_until_gone(db_url, before)  # its last commit, if the server still runs it
    return flow_uuid


def resume_in_child(db_url: str, flow_uuid: str, mode: str, tmp_path: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.support.crashflow", "resume", db_url, flow_uuid, mode],
        env=child_env(tmp_path, crash_at=""),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def ran(tmp_path: Path) -> Counter[str]:
    """How often each step executed, over every process of the test."""
    return Counter((tmp_path / "ran.log").read_text().split())


if __name__ == "__main__":
    # Re-import by name so the factory is recorded as 'tests.support.crashflow.make_flow'.
    from tests.support import crashflow

    if sys.argv[1] == "start":
        crashflow.start(sys.argv[2], sys.argv[3], int(sys.argv[4]), "record" in sys.argv[5:])
    else:
        crashflow.resume(sys.argv[2], sys.argv[3], sys.argv[4])
