"""Kill tests: real ``recorder worker`` processes on one database, SIGKILLed at
random points and restarted, until all 30 jobs are done.

Asserted afterwards, from the database and the tasks' own execution log:
every job ends COMPLETE (or trashed after more than ``--max-claims`` claims),
every flow verifies and ended SUCCESS, no task whose SUCCESS was committed ran
again, no job was ever taken from a live worker, and a dead worker's job was
claimed again within lease + poll interval of the moment a worker was free
for it (the figures are printed).
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from recorder.audit.verify import verify_flow
from recorder.conductors.posting import post_flow
from recorder.jobs import backends
from recorder.persistence import connect
from recorder.persistence.jobs_schema import jobs
from recorder.persistence.schema import transitions
from tests.support import jobflows
from tests.support.workers import Pool, events, first_free, holdings

JOBS = 30
LEASE = 3.0  # well above a live worker's longest pause on a loaded 2-core machine
POLL = 0.25
MAX_CLAIMS = 5
SLACK = 1.0  # a loaded 2-core machine: scheduling, process start, one commit


def _run_kill_test(url: str, tmp_path: Path, workers: int, kills: int, pause: float) -> None:
    rng = random.Random(20261201)
    log = str(tmp_path / "executions.log")
    backend = connect(url)
    with backends.backend("poster", url) as board:
        posted = [
            post_flow(
                board,
                backend,
                "tests.support.jobflows:make_flow",
                name="job-%02d" % i,
                store={"key": "job-%02d" % i, "log": log, "pause": pause},
            )
            for i in range(JOBS)
        ]
    pool = Pool(url, LEASE, POLL, tmp_path)
    began = time.time()
    try:
        for _ in range(workers):
            pool.start()
        with backend.engine.connect() as conn:
            for _ in range(kills):
                time.sleep(rng.uniform(0.2, 0.8))
                live = pool.live()
                busy = [w for w in live if _holds(conn, w.owner)]
                victim = rng.choice(busy or live)
                pool.kill(victim, conn)
                conn.rollback()
                pool.start()
        deadline = time.time() + 45
        while time.time() < deadline and _unfinished(backend) > 0:
            time.sleep(0.2)
    finally:
        pool.stop_all()
    took = time.time() - began
    with backend.engine.connect() as conn:
        job_rows = list(conn.execute(select(jobs)))
        event_rows = events(conn)
        done = {row.uuid: row for row in job_rows}
    assert _unfinished(backend) == 0, "jobs left: %s" % [
        (r.name, r.state, r.owner) for r in job_rows if r.state not in ("COMPLETE", "TRASHED")
    ]

    # Every job COMPLETE, or trashed by the stated rule; every flow verifies and succeeded.
    for job in posted:
        row = done[job.uuid]
        assert row.state == "COMPLETE" or (row.state == "TRASHED" and row.claims > MAX_CLAIMS)
        result = verify_flow(backend, job.flow_uuid)
        assert result.ok, (job.name, result)
        if row.state == "COMPLETE":
            assert backend.load_flow(job.flow_uuid).state == "SUCCESS", job.name

    # No task whose SUCCESS was committed ran again.
    runs = jobflows.executions(log)
    with backend.engine.connect() as conn:
        succeeded = {
            (r.flow_uuid, r.name): r.at.timestamp()
            for r in conn.execute(
                select(transitions.c.flow_uuid, transitions.c.name, transitions.c.at).where(
                    transitions.c.kind == "task", transitions.c.new_state == "SUCCESS"
                )
            )
        }
        success_rows = conn.execute(
            select(transitions.c.flow_uuid, transitions.c.name).where(
                transitions.c.kind == "task", transitions.c.new_state == "SUCCESS"
            )
        ).all()
    assert len(success_rows) == len(set(success_rows)) == JOBS * jobflows.STEPS
    flow_of = {"job-%02d" % i: job.flow_uuid for i, job in enumerate(posted)}
    for key, name, started, _pid in runs:
        assert started <= succeeded[(flow_of[key], name)], (key, name, "ran after its SUCCESS")
    reruns = len(runs) - JOBS * jobflows.STEPS

    # No job was ever taken from a live worker: every lost claim's owner was dead.
    killed_at = {w.owner: w.killed for w in pool.workers if w.killed is not None}
    lost = [row for row in event_rows if row.kind == "lost"]
    for row in lost:
        assert row.who in killed_at and killed_at[row.who] <= row.at.timestamp(), (
            "claim of live worker %s taken over" % row.who
        )

    # A dead worker's job runs again within lease + poll of a worker being free for it.
    held = holdings(event_rows)
    delays, waits = [], []
    for kill in pool.kills:
        if kill.job_uuid is None or kill.lease_expires is None:
            continue
        reclaims = [
            r.at.timestamp()
            for r in event_rows
            if r.job_uuid == kill.job_uuid and r.kind == "claimed" and r.at.timestamp() > kill.at
        ]
        assert reclaims, "job %s of killed %s never claimed again" % (kill.job_uuid, kill.owner)
        again = min(reclaims)
        free = first_free(pool, held, kill.lease_expires, kill.owner)
        ready = max(kill.lease_expires, free)
        assert again <= ready + POLL + SLACK, (kill, again - kill.at, ready - kill.at)
        delays.append(again - kill.at)
        waits.append(max(0.0, free - kill.lease_expires))
    assert delays, "no kill landed while a job was held"
    print(
        "\nkill test (%s, %d workers): %d jobs in %.1f s, %d kills (%d holding a job), "
        "%d lost claims taken over, %d task re-runs (uncommitted work), claims per job max %d;"
        " dead worker's job claimed again after %.2f s median, %.2f s max (lease %.1f s + poll "
        "%.2f s; waiting for a free worker %.2f s max)"
        % (
            backend.dialect,
            workers,
            JOBS,
            took,
            len(pool.kills),
            len(delays),
            len(lost),
            reruns,
            max(row.claims for row in job_rows),
            statistics.median(delays),
            max(delays),
            LEASE,
            POLL,
            max(waits),
        )
    )
    backend.close()


def _holds(conn: object, owner: str) -> bool:
    row = conn.execute(  # type: ignore[attr-defined]
        select(jobs.c.uuid).where(jobs.c.owner == owner, jobs.c.state == "CLAIMED")
    ).first()
    return row is not None


def _unfinished(backend: object) -> int:
    with backend.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(
            conn.execute(select(jobs.c.uuid).where(jobs.c.state.in_(("UNCLAIMED", "CLAIMED"))))
            .all()
            .__len__()
        )


@pytest.mark.slow
@pytest.mark.postgres
def test_four_workers_on_postgresql_survive_sigkill(pg_url: str, tmp_path: Path) -> None:
    _run_kill_test(pg_url, tmp_path, workers=4, kills=8, pause=0.25)


@pytest.mark.slow
def test_three_workers_on_one_sqlite_file_survive_sigkill(sqlite_url: str, tmp_path: Path) -> None:
    _run_kill_test(sqlite_url, tmp_path, workers=3, kills=6, pause=0.25)
