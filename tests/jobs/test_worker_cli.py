"""``recorder jobs ...`` and ``recorder worker``, and the conductor's rules for
what becomes of a job: consumed, abandoned on SIGTERM, trashed after N claims."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recorder import states
from recorder.cli import main
from recorder.conductors import backends as conductors
from recorder.conductors.posting import post_flow
from recorder.exceptions import NotFound
from recorder.jobs import backends
from recorder.persistence import connect
from tests.support import jobflows
from tests.support.faults import execute
from tests.support.workers import ROOT, Pool

FACTORY = "tests.support.jobflows:make_flow"


def _cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--db", url, *args])


def _store(tmp_path: Path, key: str = "k", pause: float = 0.0) -> dict[str, Any]:
    return {"key": key, "log": str(tmp_path / "runs.log"), "pause": pause}


def test_post_list_show_trash(db_url: str, tmp_path: Path) -> None:
    store = json.dumps(_store(tmp_path))
    posted = _cli(db_url, "jobs", "post", FACTORY, "--name", "nightly", "--store", store)
    assert posted.exit_code == 0, posted.output
    uuid = posted.output.strip()
    listed = json.loads(_cli(db_url, "jobs", "list", "--json").output)
    assert [(j["uuid"], j["name"], j["state"], j["owner"], j["claims"]) for j in listed] == [
        (uuid, "nightly", "UNCLAIMED", None, 0)
    ]
    backend = connect(db_url)
    flow = backend.load_flow(listed[0]["flow_uuid"])
    assert flow.state == "PENDING" and flow.name == "job-flow"
    backend.close()
    shown = _cli(db_url, "jobs", "show", uuid[:8])
    assert (
        shown.exit_code == 0 and "posted" in shown.output and listed[0]["flow_uuid"] in shown.output
    )
    trashed = _cli(db_url, "jobs", "trash", uuid[:8])
    assert trashed.exit_code == 0 and "trashed job %s" % uuid in trashed.output
    assert (
        json.loads(_cli(db_url, "jobs", "list", "--state", "trashed", "--json").output)[0]["uuid"]
        == uuid
    )
    assert _cli(db_url, "jobs", "list").output.count("TRASHED") == 1


def test_bad_calls_are_one_line(sqlite_url: str, tmp_path: Path) -> None:
    for args, message in [
        (["jobs", "post", FACTORY, "--store", "{nope"], "--store is not JSON"),
        (["jobs", "post", FACTORY, "--store", "[1]"], "--store must be a JSON object"),
        (["jobs", "post", "no.such.module:f"], "Could not import factory"),
        (["jobs", "show", "zzzz"], "no job on board"),
        (["worker", "--lease", "0"], "lease must be more than 0"),
    ]:
        result = _cli(sqlite_url, *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and result.output.count("\n") == 1, result.output
    with backends.backend("b", sqlite_url) as board:
        job = board.post("j")
        board.claim(job, "live-worker")
    result = _cli(sqlite_url, "jobs", "trash", job.uuid)
    assert (
        result.exit_code == 1 and "cannot trash" in result.output and "live-worker" in result.output
    )


def _post(url: str, tmp_path: Path, **store: Any) -> Any:
    backend = connect(url)
    try:
        with backends.backend("poster", url) as board:
            return post_flow(board, backend, FACTORY, store={**_store(tmp_path), **store})
    finally:
        backend.close()


@pytest.mark.slow
def test_sigterm_abandons_and_another_worker_finishes(db_url: str, tmp_path: Path) -> None:
    job = _post(db_url, tmp_path, pause=0.4)
    log = str(tmp_path / "runs.log")
    pool = Pool(db_url, lease=30.0, poll=0.2, tmp=tmp_path)
    try:
        first = pool.start()
        deadline = time.time() + 20
        while len(jobflows.executions(log)) < 2 and time.time() < deadline:
            time.sleep(0.02)
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(20) == 0
        with backends.backend("check", db_url) as board:
            assert board.get(job.uuid).state == states.UNCLAIMED  # at once, not after 30 s
            assert [e["kind"] for e in board.events(job)][-1] == "abandoned"
        backend = connect(db_url)
        assert backend.load_flow(job.flow_uuid).state == states.SUSPENDED
        backend.close()
        done = subprocess.run(
            [sys.executable, "-m", "recorder.cli", "--db", db_url, "worker", "--max-jobs", "1"],
            cwd=ROOT,
            env=pool.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "consume 1" in done.stdout
    finally:
        pool.stop_all()
    ran = [name for _key, name, _at, _pid in jobflows.executions(log)]
    assert sorted(set(ran)) == ["step%d" % i for i in range(jobflows.STEPS)]
    assert len(ran) <= jobflows.STEPS + 1  # only the step SIGTERM interrupted may run twice
    backend = connect(db_url)
    assert backend.load_flow(job.flow_uuid).state == states.SUCCESS
    backend.close()
    # show and timeline name the worker that ran each run of the flow.
    second = done.stdout.split()[1]
    for command in ("show", "timeline"):
        lines = _cli(db_url, command, job.flow_uuid).output.splitlines()
        runs = [line for line in lines if line.startswith("  run ")]
        assert len(runs) == 2, lines
        assert "SUSPENDED  by " + first.owner in runs[0] and "SUCCESS  by " + second in runs[1]
    as_json = json.loads(_cli(db_url, "timeline", job.flow_uuid, "--format", "json").output)
    assert [run["worker"] for run in as_json["runs"]] == [first.owner, second]


def _conductor(url: str, **kwargs: Any) -> Any:
    board = backends.fetch("c", {"url": url, "lease": 30, "poll_interval": 0.1})
    conductor = conductors.fetch("blocking", "unit", board, persistence=url, **kwargs)
    conductor.connect()
    return conductor


def test_a_job_claimed_more_than_max_claims_times_is_trashed(
    sqlite_url: str, tmp_path: Path
) -> None:
    job = _post(sqlite_url, tmp_path)
    execute(sqlite_url, "UPDATE jobs SET claims = 3")
    conductor = _conductor(sqlite_url, max_claims=3)
    try:
        conductor.run(max_dispatches=1)
        assert conductor.outcomes == {"trash": 1}
        assert conductor._board.get(job.uuid).stored_state == "TRASHED"
    finally:
        conductor.close()
    assert jobflows.executions(str(tmp_path / "runs.log")) == []


def test_what_becomes_of_jobs(db_url: str, tmp_path: Path) -> None:
    good = _post(db_url, tmp_path)
    failing = _post(db_url, tmp_path, pause="not a number")  # the first step raises
    with backends.backend("p", db_url) as board:
        orphan = board.post("no-flow")
    conductor = _conductor(db_url, idle_exit=0.3)
    events: list[str] = []
    for name in ("job_consumed", "job_trashed", "job_abandoned"):
        conductor.notifier.register(name, lambda event, details: events.append(event))
    try:
        conductor.run()
        board = conductor._board
        assert conductor.outcomes == {"consume": 2, "trash": 1}
        assert board.get(good.uuid).stored_state == "COMPLETE"
        assert board.get(failing.uuid).stored_state == "COMPLETE"  # TaskFlow's rule: it ran
        assert board.get(orphan.uuid).stored_state == "TRASHED"
        assert sorted(events) == ["job_consumed", "job_consumed", "job_trashed"]
        assert all(e["who"] == conductor.owner for e in board.events(good) if e["who"])
        assert conductor.owner.startswith("unit@") and conductor.owner.count(":") == 2
    finally:
        conductor.close()
    backend = connect(db_url)
    assert backend.load_flow(good.flow_uuid).state == states.SUCCESS
    assert backend.load_flow(failing.flow_uuid).state == states.REVERTED
    backend.close()


def test_a_worker_whose_claim_is_taken_over_leaves_the_job_alone(
    db_url: str, tmp_path: Path
) -> None:
    backend = connect(db_url)
    with backends.backend("poster", db_url) as board:
        job = post_flow(
            board, backend, "tests.support.jobflows:make_stolen_flow", store=_store(tmp_path)
        )
    backend.close()
    # The task needs its own job's uuid: add it to the stored store values.
    execute(
        db_url,
        'UPDATE jobs SET details = \'{"flow_uuid": "%s", "store": {"url": "%s", '
        '"job_uuid": "%s"}}\' WHERE uuid = \'%s\'' % (job.flow_uuid, db_url, job.uuid, job.uuid),
    )
    conductor = _conductor(db_url)
    try:
        conductor.run(max_dispatches=1)
        assert conductor.outcomes == {"lost": 1}
        board = conductor._board
        assert board.find_owner(job) == "thief"  # not consumed, not abandoned
        assert [e["kind"] for e in board.events(job)][-2:] == ["lost", "claimed"]
    finally:
        conductor.close()
    backend = connect(db_url)
    stored = backend.load_flow(job.flow_uuid)
    assert stored.atoms["before"].state == states.SUCCESS
    assert stored.atoms["steal"].state == states.RUNNING  # its SUCCESS was fenced off
    assert stored.state == states.RUNNING
    backend.close()


def test_the_nonblocking_conductor_runs_jobs_side_by_side(db_url: str, tmp_path: Path) -> None:
    posted = [_post(db_url, tmp_path, key="j%d" % i, pause=0.3) for i in range(6)]
    board = backends.fetch("c", {"url": db_url, "lease": 30, "poll_interval": 0.1})
    conductor = conductors.fetch(
        "nonblocking", "nb", board, persistence=db_url, max_simultaneous_jobs=3, idle_exit=0.5
    )
    conductor.connect()
    try:
        conductor.run()
        assert conductor.outcomes == {"consume": 6}
        assert all(board.get(job.uuid).stored_state == "COMPLETE" for job in posted)
    finally:
        conductor.close()
    starts = sorted(at for _key, name, at, _pid in jobflows.executions(str(tmp_path / "runs.log")))
    firsts = sorted(
        at
        for key, name, at, _pid in jobflows.executions(str(tmp_path / "runs.log"))
        if name == "step0"
    )
    assert len(starts) == 6 * jobflows.STEPS
    assert firsts[2] - firsts[0] < 0.3  # three jobs started together, not one after another
    with pytest.raises(NotFound, match="unknown conductor kind 'threaded'"):
        conductors.fetch("threaded", "x", board)
