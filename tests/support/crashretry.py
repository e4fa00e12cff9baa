"""A retried unordered flow that a crash test kills while a failure is being handled.

Child side (``python -m tests.support.crashretry start URL MODE KIND POINT`` or ``resume URL
UUID MODE ENGINE KIND``, with the repository root on PYTHONPATH): a parallel engine
runs an unordered flow of ``slow`` and ``flaky``, under ``retry.Times(3)``
(KIND ``times3``), ``retry.Times(1)`` (``times1``: the retry is exhausted by
one failure) or no retry (``none``). ``flaky`` fails on its first execution
only. Every execute and revert appends a line to ``$CRASH_LOG`` (fsynced), so
a parent can tell which side effects happened and which were undone.

Where the child stops (``$CRASH_POINT``; it creates ``$CRASH_MARK`` there and
sleeps until killed):

``execute``   ``slow`` blocks in its first execute, so ``flaky`` fails while it
              is RUNNING;
``revert``    ``slow`` succeeds and blocks in its first revert (left REVERTING);
``retrying``  the first reset after the retry moved to RETRYING blocks (the
              retry is left RETRYING, its atoms REVERTED).

Parent side: :func:`start_and_kill` runs the child, waits for the mark and for
the states it names to be committed, and kills it with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import recorder
from recorder import engines, retry, task
from recorder.patterns import unordered_flow
from recorder.persistence import connect

ROOT = Path(__file__).resolve().parents[2]  # the repository: `tests` is a package in it
FLOW_NAME = "crash-retry"


def _log(line: str) -> None:
    log = os.environ.get("CRASH_LOG")
    if log:
        with open(log, "a") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())


def _stop_here(point: str) -> None:
    """Block until killed, once, when the child was told to stop at ``point``."""
    mark = os.environ.get("CRASH_MARK", "")
    if os.environ.get("CRASH_POINT") == point and mark and not os.path.exists(mark):
        with open(mark, "w"):
            pass
        time.sleep(120)  # killed here


class Slow(task.Task):
    def execute(self, attempt: int = 0) -> str:
        _log("execute %s %d" % (self.name, attempt))
        _stop_here("execute")
        return "%s@%d" % (self.name, attempt)

    def revert(self, result: Any, attempt: int = 0, **kwargs: Any) -> None:
        _log("revert %s %d %s" % (self.name, attempt, result))
        _stop_here("revert")


class Flaky(task.Task):
    def execute(self, attempt: int = 0) -> str:
        if os.environ.get("CRASH_POINT") == "execute":
            # Fail only once the sibling is RUNNING (it made the mark).
            while not os.path.exists(os.environ["CRASH_MARK"]):
                time.sleep(0.01)
        _log("execute %s %d" % (self.name, attempt))
        failed_once = Path(os.environ["CRASH_MARK"] + ".failed")
        if not failed_once.exists():
            failed_once.touch()
            raise RuntimeError("flaky is down")
        return "%s@%d" % (self.name, attempt)

    def revert(self, result: Any, attempt: int = 0, **kwargs: Any) -> None:
        _log("revert %s %d" % (self.name, attempt))


def make_flow(kind: str) -> unordered_flow.Flow:
    controller: retry.Retry | None = None
    if kind == "times3":
        controller = retry.Times(3, name="retry", provides="attempt")
    elif kind == "times1":
        controller = retry.Times(1, name="retry", provides="attempt")
    flow = unordered_flow.Flow(FLOW_NAME, retry=controller)
    return flow.add(Slow("slow"), Flaky("flaky"))


# -- child side --------------------------------------------------------------


def _block_on_first_reset(state: str, details: Mapping[str, Any]) -> None:
    if state == "PENDING":
        _stop_here("retrying")


def start(url: str, mode: str, kind: str) -> None:
    engine = engines.load_from_factory(
        make_flow, factory_args=[kind], backend=url, mode=mode, engine="parallel"
    )
    engine.atom_notifier.register("PENDING", _block_on_first_reset)
    print(engine.storage.flow_uuid, flush=True)
    with recorder.record(engine):
        engine.run()


def resume(url: str, flow_uuid: str, mode: str, engine_kind: str, kind: str) -> None:
    """Continue through the library (no recording set: only what the engine writes)."""
    engine = engines.load(
        make_flow(kind), backend=url, flow_detail=flow_uuid, mode=mode, engine=engine_kind
    )
    error = None
    try:
        engine.run()
    except Exception as exc:
        error = "%s: %s" % (type(exc).__name__, exc)
    engine.close()
    print(json.dumps({"state": engine.storage.get_flow_state(), "error": error}), flush=True)


# -- parent side -------------------------------------------------------------


def child_env(tmp_path: Path, point: str) -> dict[str, str]:
    env = dict(os.environ)
    # The child imports this module as tests.support.crashretry, from the repository root.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["CRASH_LOG"] = str(tmp_path / "ran.log")
    env["CRASH_MARK"] = str(tmp_path / "mark")
    env["CRASH_POINT"] = point
    return env


def atom_states(db_url: str, flow_uuid: str) -> dict[str, str]:
    with connect(db_url) as backend:
        stored = backend.load_flow(flow_uuid)
    return {name: str(atom.state) for name, atom in stored.atoms.items()}


def start_and_kill(
    db_url: str,
    tmp_path: Path,
    *,
    mode: str = "durable",
    kind: str = "times3",
    point: str = "execute",
    committed: Mapping[str, str],
) -> str:
    """Run the flow in a child, SIGKILL it at ``point`` once the database holds the
    ``committed`` atom states, and return the flow's uuid."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashretry", "start", db_url, mode, kind],
        env=child_env(tmp_path, point),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        flow_uuid = child.stdout.readline().strip()
        deadline = time.monotonic() + 60
        while not (tmp_path / "mark").exists() or any(
            atom_states(db_url, flow_uuid).get(name) != state for name, state in committed.items()
        ):
            assert child.poll() is None, "child exited before reaching the crash point"
            assert time.monotonic() < deadline, "child never reached the crash point"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return flow_uuid


def resume_in_child(
    db_url: str, flow_uuid: str, tmp_path: Path, *, mode: str, engine: str, kind: str
) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.crashretry",
            "resume",
            db_url,
            flow_uuid,
            mode,
            engine,
            kind,
        ],
        env=child_env(tmp_path, ""),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def resume_by_cli(
    db_url: str, flow_uuid: str, tmp_path: Path, *, mode: str = "durable", engine: str = "serial"
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "recorder.cli", "--db", db_url, "resume", flow_uuid]
    return subprocess.run(
        [*command, "--mode", mode, "--engine", engine],
        env=child_env(tmp_path, ""),
        capture_output=True,
        text=True,
        timeout=120,
    )


def side_effects(tmp_path: Path) -> list[str]:
    """Every execute and revert, in order, over every process of the test."""
    return (tmp_path / "ran.log").read_text().splitlines()


if __name__ == "__main__":
    # Re-import by name so the factory is recorded as 'tests.support.crashretry.make_flow'.
    from tests.support import crashretry

    if sys.argv[1] == "start":
        crashretry.start(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        crashretry.resume(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
