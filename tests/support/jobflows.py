"""Flows for the job tests: each task logs the start of every execution to a file
(``store['log']``), so a test can tell which tasks ran more than once, and
sleeps a little so SIGKILLs land in the middle of tasks too."""

from __future__ import annotations

import os
import random
import time

from recorder import task
from recorder.patterns import linear_flow

STEPS = 4


class LoggedStep(task.Task):
    def execute(self, key: str, log: str, pause: float) -> str:
        with open(log, "a", encoding="utf-8") as out:
            out.write("%s %s %.6f %d\n" % (key, self.name, time.time(), os.getpid()))
        time.sleep(random.uniform(0.5, 1.5) * pause)
        return "%s:%s" % (key, self.name)


def make_flow() -> linear_flow.Flow:
    """Four logged steps, one after another."""
    return linear_flow.Flow("job-flow").add(
        *(LoggedStep("step%d" % i, provides="out%d" % i) for i in range(STEPS))
    )


def executions(log: str) -> list[tuple[str, str, float, int]]:
    """(key, task, start time, pid) per logged execution."""
    if not os.path.exists(log):
        return []
    found = []
    with open(log, encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 4:  # a line cut short by SIGKILL is not an execution
                found.append((parts[0], parts[1], float(parts[2]), int(parts[3])))
    return found


class StealsItsClaim(task.Task):
    """Takes its own job over for another owner (the lease expired, someone claimed
    it), as happens to a worker that paused longer than its lease."""

    def execute(self, url: str, job_uuid: str) -> str:
        from sqlalchemy import create_engine, text

        from recorder.jobs import backends
        from recorder.persistence import urls

        engine = create_engine(urls.normalize(url))
        with engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET lease_expires_at = '2000-01-01 00:00:00+00:00'"))
        engine.dispose()
        with backends.backend("thief", url) as board:
            board.claim(board.get(job_uuid), "thief")
        return "too late"


def make_stolen_flow() -> linear_flow.Flow:
    """One logged step, then a step during which the job's claim is taken over."""
    return linear_flow.Flow("stolen-flow").add(
        LoggedStep("before", provides="early"), StealsItsClaim("steal", provides="late")
    )
