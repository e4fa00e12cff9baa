"""A flow factory for ``recorder resume`` tests (importable as ``tests.cli.resumable``).

``charge`` fails until the file named by ``$RESUME_FIX`` exists, the way a run
fails on a dependency that is down and is resumed once it is back.
"""

from __future__ import annotations

import os

from recorder import task
from recorder.patterns import linear_flow

RUNS: dict[str, int] = {}


class Step(task.Task):
    def execute(self, order: str) -> str:
        RUNS[self.name] = RUNS.get(self.name, 0) + 1
        if self.name == "charge" and not os.path.exists(os.environ.get("RESUME_FIX", "")):
            raise ConnectionError("payment service down")
        return "%s:%s" % (self.name, order)


def checkout() -> linear_flow.Flow:
    return linear_flow.Flow("checkout").add(
        Step("reserve", provides="reserved"),
        Step("charge", provides="charged"),
        Step("ship", provides="shipped"),
    )


def named(name: str) -> linear_flow.Flow:
    """``checkout`` under another flow name (e.g. one full of terminal escapes)."""
    flow = checkout()
    return linear_flow.Flow(name).add(*flow)


def broken() -> linear_flow.Flow:
    """A factory that cannot build its flow any more (its config is gone)."""
    raise RuntimeError("config file /etc/checkout.yaml is missing")
