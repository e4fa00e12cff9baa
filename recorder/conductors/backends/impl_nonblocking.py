"""The non-blocking conductor: up to ``max_simultaneous_jobs`` jobs at once, each in
a thread of its own (each with its own fenced backend)."""

from __future__ import annotations

from typing import Any

from recorder.conductors.base import Conductor

MAX_SIMULTANEOUS_JOBS = 4


class NonBlockingConductor(Conductor):
    def __init__(
        self,
        name: str,
        jobboard: Any,
        max_simultaneous_jobs: int = MAX_SIMULTANEOUS_JOBS,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, jobboard, max_simultaneous_jobs=max_simultaneous_jobs, **kwargs)
