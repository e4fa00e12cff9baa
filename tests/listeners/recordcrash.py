"""A recorded flow for crash tests, run in a child process (importable through PYTHONPATH).

The task named ``$CRASH_AT`` creates ``$CRASH_MARK`` and sleeps on its first
run; the parent kills the process with SIGKILL while it sleeps.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import recorder
from recorder import engines, task
from recorder.patterns import linear_flow


class Step(task.Task):
    def execute(self, **inputs: Any) -> str:
        mark = os.environ.get("CRASH_MARK", "")
        if self.name == os.environ.get("CRASH_AT") and mark and not os.path.exists(mark):
            time.sleep(0.3)  # give a batched writer time to commit what came before
            with open(mark, "w"):
                pass
            time.sleep(120)  # killed here
        return self.name


def make_flow(size: int) -> linear_flow.Flow:
    flow = linear_flow.Flow("recorded-crash")
    previous = "seed"
    for i in range(size):
        name = "s%02d" % i
        flow.add(Step(name, provides=name + "_out", requires=[previous]))
        previous = name + "_out"
    return flow


def start(url: str, mode: str) -> None:
    engine = engines.load_from_factory(
        make_flow, factory_args=[5], store={"seed": "x"}, backend=url, mode=mode
    )
    print(engine.storage.flow_uuid, flush=True)
    with recorder.record(engine):
        engine.run()
    engine.close()


if __name__ == "__main__":
    # Re-import by name so the flow factory is recorded as 'recordcrash:make_flow'.
    import recordcrash

    recordcrash.start(sys.argv[1], sys.argv[2])
