"""Real ``recorder worker`` processes for the kill tests: start, SIGKILL, restart,
and the checks made afterwards from what the database and the task log hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from recorder.persistence.jobs_schema import job_events, jobs

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    proc: subprocess.Popen[str]
    owner: str
    started: float
    log: Any = None
    killed: float | None = None


@dataclass
class Kill:
    owner: str
    at: float
    job_uuid: str | None
    lease_expires: float | None


@dataclass
class Pool:
    """A set of worker processes on one database."""

    url: str
    lease: float
    poll: float
    tmp: Path
    workers: list[Worker] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> Worker:
        cmd = [
            sys.executable, "-m", "recorder.cli", "--db", self.url, "worker",
            "--name", "kt", "--lease", str(self.lease), "--poll", str(self.poll),
            "--idle-exit", "3",
        ]  # fmt: skip
        log = open(self.tmp / ("worker-%d.log" % len(self.workers)), "w")  # noqa: SIM115
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env(), stdout=subprocess.PIPE, stderr=log, text=True
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "worker OWNER on <board>"
        if not first.startswith("worker "):
            proc.kill()
            proc.wait()
            log.close()
            stderr = Path(log.name).read_text(encoding="utf-8", errors="replace")
            raise AssertionError("worker did not start: %r; stderr: %s" % (first, stderr[-2000:]))
        worker = Worker(proc, first.split()[1], time.time(), log)
        self.workers.append(worker)
        return worker

    def live(self) -> list[Worker]:
        return [w for w in self.workers if w.killed is None and w.proc.poll() is None]

    def kill(self, worker: Worker, conn: Any) -> Kill:
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait()
        worker.killed = time.time()
        # Read what the worker held when it died, not what the caller's open transaction
        # saw before (SQLite keeps one snapshot per transaction: a job the worker
        # finished between that read and the kill would pass for one it held).
        conn.rollback()
        row = conn.execute(
            select(jobs.c.uuid, jobs.c.lease_expires_at).where(
                jobs.c.owner == worker.owner, jobs.c.state == "CLAIMED"
            )
        ).first()
        kill = Kill(
            worker.owner,
            worker.killed,
            None if row is None else row.uuid,
            None if row is None else _epoch(row.lease_expires_at),
        )
        self.kills.append(kill)
        return kill

    def stop_all(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        for worker in self.live():
            worker.proc.send_signal(signal.SIGTERM)
        for worker in self.workers:
            if worker.proc.poll() is None:
                try:
                    worker.proc.wait(max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    worker.proc.kill()
                    worker.proc.wait()
            if worker.proc.stdout is not None:
                worker.proc.stdout.close()
            if worker.log is not None:
                worker.log.close()


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def events(conn: Any) -> list[Any]:
    return list(conn.execute(select(job_events).order_by(job_events.c.id)))


def holdings(rows: list[Any]) -> dict[str, list[tuple[float, float]]]:
    """owner -> the [claimed, released) intervals of its claims (release: its consume,
    abandon or trash, or the takeover of its expired claim; open ones end at +inf)."""
    open_claims: dict[tuple[str, int], tuple[str, float]] = {}
    held: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        key = (row.job_uuid, row.claims)
        at = row.at.timestamp()
        if row.kind == "claimed":
            open_claims[key] = (row.who, at)
        elif row.kind in ("consumed", "abandoned", "trashed", "lost") and key in open_claims:
            who, since = open_claims.pop(key)
            held.setdefault(who, []).append((since, at))
    for who, since in open_claims.values():
        held.setdefault(who, []).append((since, float("inf")))
    return held


def first_free(
    pool: Pool, held: dict[str, list[tuple[float, float]]], after: float, dead: str
) -> float:
    """The first time at or after ``after`` when some live worker other than ``dead``
    holds no claim (an idle worker could take a job then)."""
    candidates = []
    for worker in pool.workers:
        if worker.owner == dead or (worker.killed is not None and worker.killed <= after):
            continue
        t = max(after, worker.started)
        for since, until in sorted(held.get(worker.owner, [])):
            if since <= t < until:
                t = until
        if worker.killed is None or t < worker.killed:
            candidates.append(t)
    return min(candidates) if candidates else float("inf")
