"""A flow for crash tests, run in child processes (importable through PYTHONPATH).

Every execution appends the task's name to ``$CRASH_LOG`` (fsynced) before it
returns, so the parent can count how often each task really ran. The task named
``$CRASH_AT`` creates ``$CRASH_MARK`` and sleeps on its first run: the parent
kills the process with SIGKILL while it sleeps.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from recorder import engines, task
from recorder.patterns import linear_flow


class Step(task.Task):
    def execute(self, **inputs: Any) -> str:
        with open(os.environ["CRASH_LOG"], "a") as log:
            log.write(self.name + "\n")
            log.flush()
            os.fsync(log.fileno())
        mark = os.environ.get("CRASH_MARK", "")
        if self.name == os.environ.get("CRASH_AT") and mark and not os.path.exists(mark):
            with open(mark, "w"):
                pass
            time.sleep(120)  # killed here
        return "%s(%s)" % (self.name, ",".join(str(inputs[k]) for k in sorted(inputs)))


def make_flow(size: int) -> linear_flow.Flow:
    flow = linear_flow.Flow("crashy")
    previous = "seed"
    for i in range(size):
        name = "s%02d" % i
        flow.add(Step(name, provides=name + "_out", requires=[previous]))
        previous = name + "_out"
    return flow


def start(url: str, mode: str) -> None:
    engine = engines.load_from_factory(
        make_flow, factory_args=[6], store={"seed": "x"}, backend=url, mode=mode
    )
    print(engine.storage.flow_uuid, flush=True)
    engine.run()
    engine.close()


def resume(url: str, flow_uuid: str, mode: str) -> None:
    from recorder.persistence import connect

    backend = connect(url, mode=mode)
    engine = engines.load_from_detail(backend.load_flow(flow_uuid), backend=backend)
    engine.run()
    backend.close()
    print(json.dumps(engine.storage.fetch_all(), sort_keys=True), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "start":
        start(sys.argv[2], sys.argv[3])
    else:
        resume(sys.argv[2], sys.argv[3], sys.argv[4])
