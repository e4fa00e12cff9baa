"""A recorded flow whose process is killed mid-run (run as ``python -m crashy URL MARK``).

``slow`` creates the MARK file on its first run and sleeps until the parent
kills the process; resumed later, it returns at once.
"""

from __future__ import annotations

import os
import sys
import time

import recorder
from recorder import engines, task
from recorder.patterns import linear_flow


class Step(task.Task):
    def execute(self) -> str:
        mark = os.environ.get("CRASHY_MARK", "")
        if self.name == "slow" and mark and not os.path.exists(mark):
            with open(mark, "w"):
                pass
            time.sleep(120)  # killed here
        return self.name


def make_flow() -> linear_flow.Flow:
    return linear_flow.Flow("crashy").add(Step("first"), Step("slow"), Step("last"))


def start(url: str) -> None:
    engine = engines.load_from_factory(make_flow, backend=url)
    print(engine.storage.flow_uuid, flush=True)
    with recorder.record(engine):
        engine.run()


if __name__ == "__main__":
    # Re-import by name so the factory is recorded as 'crashy:make_flow', not '__main__'.
    import crashy

    crashy.start(sys.argv[1])
