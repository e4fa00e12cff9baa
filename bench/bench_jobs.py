"""Job board throughput and the claim listener's cost, side by side in one run.

1. Claim -> consume with 1, 4 and 8 worker processes on PostgreSQL and on one
   SQLite file: recorder's board (``claim_next`` + ``consume``) beside a
   raw-driver loop (psycopg / sqlite3) of the same claim and complete
   statements, and their ratio; then claim -> run -> consume through the
   conductor for trivial one-task jobs (each job's flow loaded from the
   database, run recorded and fenced by the claim), beside both.
2. The claim listener's added cost per state change, in microseconds, on a
   200-task flow recorded durably, beside what recording costs per state
   change; with and without the write fence.

    .venv/bin/python bench/bench_jobs.py [--jobs 400] [--workers 1 4 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import PG_ADMIN, scratch_pg

from recorder.persistence import migrate, urls

PG_CLAIM = (
    "WITH picked AS (SELECT uuid FROM jobs WHERE state = 'UNCLAIMED' OR (state = 'CLAIMED' "
    "AND lease_expires_at < clock_timestamp()) ORDER BY priority DESC, created_at, uuid "
    "LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE jobs SET state = 'CLAIMED', owner = %s, "
    "claims = claims + 1, lease_expires_at = clock_timestamp() + make_interval(secs => 30), "
    "updated_at = now() FROM picked WHERE jobs.uuid = picked.uuid RETURNING jobs.uuid, jobs.claims"
)
PG_DONE = (
    "UPDATE jobs SET state = 'COMPLETE', owner = NULL, lease_expires_at = NULL, updated_at = now()"
    " WHERE uuid = %s AND owner = %s AND state = 'CLAIMED' AND claims = %s"
)
PG_EVENT = (
    "INSERT INTO job_events (job_uuid, kind, who, at, claims, details) "
    "VALUES (%s, %s, %s, now(), %s, '{}')"
)
LITE_PICK = (
    "SELECT uuid FROM jobs WHERE state = 'UNCLAIMED' OR (state = 'CLAIMED' AND "
    "lease_expires_at < ?) ORDER BY priority DESC, created_at, uuid LIMIT 1"
)
LITE_CLAIM = (
    "UPDATE jobs SET state = 'CLAIMED', owner = ?, claims = claims + 1, lease_expires_at = ?, "
    "updated_at = ? WHERE uuid = ? RETURNING claims"
)
LITE_DONE = (
    "UPDATE jobs SET state = 'COMPLETE', owner = NULL, lease_expires_at = NULL, updated_at = ? "
    "WHERE uuid = ? AND owner = ? AND state = 'CLAIMED' AND claims = ?"
)
LITE_EVENT = (
    "INSERT INTO job_events (job_uuid, kind, who, at, claims, details) VALUES (?, ?, ?, ?, ?, '{}')"
)


def _now_text(later: float = 0.0) -> str:
    from datetime import datetime, timedelta, timezone

    return (datetime.now(timezone.utc) + timedelta(seconds=later)).isoformat(" ", "microseconds")


def raw_worker(url: str, who: str) -> int:
    """Claim and complete jobs with the bare driver until none is left."""
    done = 0
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        conn.execute("PRAGMA synchronous = NORMAL")
        while True:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(LITE_PICK, (_now_text(),)).fetchone()
            if row is None:
                conn.execute("COMMIT")
                break
            now = _now_text()
            until = _now_text(30.0)
            claims = conn.execute(LITE_CLAIM, (who, until, now, row[0])).fetchone()[0]
            conn.execute(LITE_EVENT, (row[0], "claimed", who, now, claims))
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(LITE_DONE, (_now_text(), row[0], who, claims))
            conn.execute(LITE_EVENT, (row[0], "consumed", who, _now_text(), claims))
            conn.execute("COMMIT")
            done += 1
        conn.close()
        return done
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as pg:
        while True:
            with pg.transaction():
                row = pg.execute(PG_CLAIM, (who,)).fetchone()
                if row is None:
                    break
                pg.execute(PG_EVENT, (row[0], "claimed", who, row[1]))
            with pg.transaction():
                pg.execute(PG_DONE, (row[0], who, row[1]))
                pg.execute(PG_EVENT, (row[0], "consumed", who, row[1]))
            done += 1
    return done


def board_worker(url: str, who: str) -> int:
    """recorder's board: claim_next + consume until none is left."""
    from recorder.jobs import backends

    done = 0
    with backends.backend("bench", url) as board:
        while (job := board.claim_next(who)) is not None:
            board.consume(job, who)
            done += 1
    return done


def conductor_worker(url: str, who: str) -> int:
    """A blocking conductor: claim, load the stored flow, run it recorded, consume."""
    from recorder.conductors import backends as conductors
    from recorder.jobs import backends

    board = backends.fetch("bench", {"url": url, "poll_interval": 0.05})
    conductor = conductors.fetch("blocking", who, board, persistence=url, idle_exit=0.01)
    conductor.connect()
    try:
        conductor.run()
    finally:
        conductor.close()
    return conductor.outcomes.get("consume", 0)


WORKERS: dict[str, Callable[[str, str], int]] = {
    "raw": raw_worker,
    "board": board_worker,
    "conductor": conductor_worker,
}


def _child(kind: str, url: str, who: str, go: Any, out: Any) -> None:
    go.wait()
    out.put(WORKERS[kind](url, who))


def _post(url: str, count: int, with_flows: bool) -> None:
    from recorder.conductors.posting import post_flow
    from recorder.jobs import backends
    from recorder.persistence import connect

    backend = connect(url)
    with backends.backend("poster", url) as board:
        for _ in range(count):
            if with_flows:
                post_flow(board, backend, "bench.bench_jobs:one_task_flow")
            else:
                board.post("bench")
    backend.close()


def one_task_flow() -> Any:
    from recorder import task
    from recorder.patterns import linear_flow

    class Noop(task.Task):
        def execute(self) -> None:
            return None

    return linear_flow.Flow("bench-job").add(Noop("noop"))


def throughput(url: str, kind: str, workers: int, jobs: int) -> float:
    """Jobs per second, ``workers`` processes started together on ``jobs`` posted jobs."""
    from sqlalchemy import create_engine, text

    engine = create_engine(urls.normalize(url))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM job_events"))
        conn.execute(text("DELETE FROM jobs"))
    engine.dispose()
    _post(url, jobs, with_flows=kind == "conductor")
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_child, args=(kind, url, "w%d" % i, go, out)) for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(1.5 + 0.3 * workers)  # let them import and connect before the clock starts
    started = time.perf_counter()
    go.set()
    done = sum(out.get(timeout=600) for _ in procs)
    took = time.perf_counter() - started
    for proc in procs:
        proc.join()
    if done != jobs:
        raise SystemExit("%s: %d of %d jobs done" % (kind, done, jobs))
    return jobs / took


def listener_cost(url: str, tasks: int = 200, repeat: int = 5) -> dict[str, float]:
    """Microseconds per state change: recording, the claim check, the check plus fence.

    The four variants run in turn, ``repeat`` rounds, so a busy machine's drift
    hits them alike; each figure is the median of its rounds.
    """
    from recorder import engines, task
    from recorder.jobs import backends
    from recorder.listeners.claims import CheckingClaimListener
    from recorder.patterns import linear_flow
    from recorder.persistence import connect

    class Noop(task.Task):
        def execute(self) -> None:
            return None

    changes = 2 * tasks + 2

    def run(database: bool, check: bool, fence: bool) -> float:
        backend = connect(url) if database else None
        with backends.backend("cost", url) as board:
            job = board.post("cost")
            board.claim(job, "w")
            if fence and backend is not None:
                backend.set_fence(board.fence(job, "w"))
            flow = linear_flow.Flow("cost").add(*(Noop("t%d" % i) for i in range(tasks)))
            engine = engines.load(flow, backend=backend)
            started = time.perf_counter()
            if check:
                with CheckingClaimListener(engine, job, board, "w", heartbeat=3600):
                    engine.run()
            else:
                engine.run()
            took = time.perf_counter() - started
        if backend is not None:
            backend.close()
        return took * 1e6 / changes

    variants = {
        "memory": (False, False, False),
        "recorded": (True, False, False),
        "checked": (True, True, False),
        "fenced": (True, True, True),
    }
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, how in variants.items():
            rounds[name].append(run(*how))
    memory, recorded, checked, fenced = (statistics.median(rounds[n]) for n in variants)
    return {
        "memory": memory,
        "recording": recorded - memory,
        "check": checked - recorded,
        "check+fence": fenced - recorded,
    }


def report(name: str, url: str, workers: list[int], jobs: int) -> None:
    if workers:
        print("\n%s: claim -> consume, jobs/s (%d jobs)" % (name, jobs))
        print(
            "  workers   raw loop   board   board/raw   conductor (claim->run->consume)   cond/raw"
        )
    for count in workers:
        raw = throughput(url, "raw", count, jobs)
        board = throughput(url, "board", count, jobs)
        conducted = throughput(url, "conductor", count, max(jobs // 4, count * 10))
        print(
            "  %7d   %8.0f   %5.0f   %9.2f   %31.0f   %8.2f"
            % (count, raw, board, raw / board, conducted, raw / conducted)
        )
    cost = listener_cost(url)
    print(
        "%s: per state change (200-task flow, durable): recording %.0f us, claim check %.0f us,"
        " check + write fence %.0f us (engine alone %.0f us)"
        % (name, cost["recording"], cost["check"], cost["check+fence"], cost["memory"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--workers-none", dest="workers", action="store_const", const=[], help="Only part 2."
    )
    args = parser.parse_args()
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        url = "sqlite:///%s/bench.db" % tmp
        migrate.upgrade(url)
        report("SQLite (one file, processes)", url, args.workers, args.jobs)
    with scratch_pg() as pg_url:
        if pg_url is None:
            print("\nPostgreSQL: no server at %s, skipped" % PG_ADMIN)
        else:
            report("PostgreSQL", pg_url, args.workers, args.jobs)
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
