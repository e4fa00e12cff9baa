"""The blocking conductor: one job at a time, run in the thread that calls ``run()``."""

from __future__ import annotations

from typing import Any

from recorder.conductors.base import Conductor


class BlockingConductor(Conductor):
    def __init__(self, name: str, jobboard: Any, **kwargs: Any) -> None:
        kwargs.pop("max_simultaneous_jobs", None)
        super().__init__(name, jobboard, max_simultaneous_jobs=1, **kwargs)
