"""Kill recorded runs at random points, some with the database refusing writes.

For each write mode on each database: at least 20 real processes are SIGKILLed
at a random moment of a recorded run, and in some runs the database also
refuses every transitions row from a random seq on (as a full disk would), so
the run fails with WriteFailed before or after the kill. After every case:

* what is stored is a consistent prefix (in batched mode possibly nothing at
  all, when the kill came before the set-up was committed) (the chain verifies, seqs are
  gap-free, the flow and each atom are in the state of their last row);
* a new engine resumes the flow to SUCCESS with the right results;
* no task whose SUCCESS was stored runs again.

The random seed is printed in every failure, so a case can be replayed with
RECORDER_FAULT_SEED.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import recorder
from recorder import engines
from recorder.cli import main
from recorder.exceptions import NotFound
from recorder.persistence import connect
from tests.support import crashflow
from tests.support.faults import allow_transitions, refuse_transitions, sessions, wait_until_gone
from tests.support.stored import assert_consistent

SIZE = 8
STEP_SLEEP = 0.02
KILLS = 20
REFUSED_RUNS = 4
EXPECTED = crashflow.expected_results(SIZE)


def _log_lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _run_child(url: str, mode: str, env: dict[str, str], kill_after: float) -> tuple[str, bool]:
    """Start a recorded run; SIGKILL it ``kill_after`` s after set-up. (uuid, killed)."""
    before = sessions(url)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashflow", "start", url, mode, str(SIZE), "record"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    flow_uuid = child.stdout.readline().strip()
    time.sleep(kill_after)
    killed = child.poll() is None
    if killed:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    wait_until_gone(url, before)  # its last commit, if the server still runs it
    return flow_uuid, killed


def _stored(url: str, flow_uuid: str) -> bool:
    backend = connect(url)
    try:
        backend.load_flow(flow_uuid)
        return True
    except NotFound:
        assert not backend.load_transitions(flow_uuid)
        return False
    finally:
        backend.close()


def _resume(url: str, mode: str, flow_uuid: str) -> dict[str, object]:
    backend = connect(url, mode=mode)
    try:
        engine = engines.load_from_detail(backend.load_flow(flow_uuid), backend=backend)
        with recorder.record(engine):
            engine.run()
        return engine.storage.fetch_all()
    finally:
        backend.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_random_kills_and_refused_writes_leave_resumable_prefixes(
    db_url: str, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = int(os.environ.get("RECORDER_FAULT_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    log = tmp_path / "ran.log"
    env = crashflow.child_env(tmp_path, crash_at="")
    env.update(CRASH_STEP_SLEEP=str(STEP_SLEEP), CRASH_PROGRESS="1")
    monkeypatch.setenv("CRASH_LOG", str(log))
    run_time = SIZE * (STEP_SLEEP + 0.01)
    kills = refused = cases = lost = 0
    while kills < KILLS or refused < REFUSED_RUNS:
        cases += 1
        assert cases < 4 * (KILLS + REFUSED_RUNS), "kills keep missing the run (seed %d)" % seed
        refuse_from = rng.randint(2, 2 * SIZE + 2) if refused < REFUSED_RUNS else None
        if refuse_from is not None:
            refuse_transitions(db_url, refuse_from)
        try:
            flow_uuid, killed = _run_child(db_url, mode, env, rng.uniform(0, run_time))
        finally:
            if refuse_from is not None:
                allow_transitions(db_url)
        case = "seed %d case %d (killed=%s, refused from seq %s)" % (
            seed,
            cases,
            killed,
            refuse_from,
        )
        kills += killed
        refused += refuse_from is not None
        if mode == "batched" and not _stored(db_url, flow_uuid):
            lost += 1  # killed before its set-up was committed: nothing of it was stored
            continue
        try:
            stored = assert_consistent(db_url, flow_uuid)
        except AssertionError as exc:  # name the seed, so the case can be replayed
            raise AssertionError("%s: %s" % (case, exc)) from exc
        committed = {name for name, atom in stored.atoms.items() if atom.state == "SUCCESS"}
        if stored.state == "SUCCESS":
            assert len(committed) == SIZE, case
            continue
        before = len(_log_lines(log))
        assert _resume(db_url, mode, flow_uuid) == EXPECTED, case
        again = _log_lines(log)[before:]
        assert not committed & set(again), case
        assert again == sorted(again), case
        try:
            final = assert_consistent(db_url, flow_uuid)
        except AssertionError as exc:
            raise AssertionError("%s, after the resume: %s" % (case, exc)) from exc
        assert final.state == "SUCCESS", case
    assert kills >= KILLS and refused >= REFUSED_RUNS
    verified = CliRunner().invoke(main, ["--db", db_url, "verify"])
    assert verified.exit_code == 0, (seed, verified.output)
    assert verified.output.startswith("ok: %d flow(s)" % (cases - lost)), (seed, lost)
