"""Garbage collection in the benches' timed runs: start each one on a collected heap,
and count what the run's own garbage made the collector do.

Migrating a fresh database (alembic) leaves enough garbage to bring the collector
close to a full collection, which then lands inside the timed run that follows:
35-70 ms on this machine's heaps, as much as a whole 1,000-task recorded run's
other costs. Which run pays for it depends on what ran before, not on what is
measured, so every timed run (engine, floor, replay, recorder) starts collected,
and the collections its own garbage causes stay in it and are counted here.
"""

from __future__ import annotations

import gc
import time
from typing import Any

_seen: list[float] = [0, 0.0]  # collections, seconds in them
_started: list[float] = []


def _watch(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        _seen[0] += 1
        _seen[1] += time.perf_counter() - _started.pop()


gc.callbacks.append(_watch)


def collected_heap() -> None:
    """Collect garbage now, and count collections from here on."""
    gc.collect()
    _seen[:] = [0, 0.0]


def seen() -> tuple[int, float]:
    """(collections, seconds in them) since the last :func:`collected_heap`."""
    return int(_seen[0]), _seen[1]
