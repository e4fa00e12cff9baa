"""TaskFlow 6.5's side of the benches: the same trivial linear flow on its own engine and
SQLAlchemy backend (shared by bench_persisted.py and bench_recording.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable


def taskflow_case(url: str, size: int, full: bool) -> Callable[[], None] | None:
    """A run of ``size`` no-op tasks saved at ``url``; ``full``: with DurationListener
    and EventTimeListener. None when TaskFlow is not installed."""
    try:
        from taskflow import engines, task
        from taskflow.listeners import timing
        from taskflow.patterns import linear_flow
        from taskflow.persistence import backends
    except ImportError:
        return None
    backend = backends.fetch({"connection": url})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()

    class Noop(task.Task):  # type: ignore[misc]
        def execute(self) -> int:
            return 1

    def run() -> None:
        flow = linear_flow.Flow("bench").add(*(Noop("t%d" % i) for i in range(size)))
        engine = engines.load(flow, backend=backend)
        if full:
            with timing.DurationListener(engine), timing.EventTimeListener(engine):
                engine.run()
        else:
            engine.run()

    return run
