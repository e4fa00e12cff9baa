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
