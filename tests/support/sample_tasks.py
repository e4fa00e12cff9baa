"""Small tasks many tests build flows from."""

from __future__ import annotations

import time
from typing import Any

from recorder import task


class Const(task.Task):
    """Returns the value it was made with."""

    def __init__(self, value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value

    def execute(self) -> Any:
        return self.value


class Boom(task.Task):
    """Always fails with RuntimeError('boom')."""

    def execute(self) -> None:
        raise RuntimeError("boom")


class FailsTimes(task.Task):
    """Fails with RuntimeError('flaky N') on its first ``failures`` runs, then returns 'fine'."""

    def __init__(self, failures: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures = failures
        self.runs = 0

    def execute(self) -> str:
        self.runs += 1
        if self.runs <= self.failures:
            raise RuntimeError("flaky %d" % self.runs)
        return "fine"


class Sleepy(task.Task):
    """Sleeps ``seconds`` and returns them."""

    def __init__(self, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def execute(self) -> float:
        time.sleep(self.seconds)
        return self.seconds
