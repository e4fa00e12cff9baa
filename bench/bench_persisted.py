"""Per-task cost with state persisted: recorder vs TaskFlow + its SQLAlchemy backend.

One run prints, side by side, the wall time per trivial task (load + run) of a
linear flow whose state is written to a database:

* recorder ``durable`` and ``batched`` on a SQLite file and on PostgreSQL,
  "state only" (``engines.load(..., trail=False)``: the state writes alone, no
  transitions trail, although an engine with a database writes one by default)
  and "full recording" (the default trail + ``recorder.record(engine)``'s
  DurationListener and EventTimeListener);
* TaskFlow 6.5 with its SQLAlchemy backend on a SQLite file, without listeners
  and with DurationListener + EventTimeListener;
* SQL statements per task for each (counted with a SQLAlchemy cursor event),
  and the ratio TaskFlow / recorder.

    .venv/bin/python bench/bench_persisted.py [--tasks 200] [--taskflow-tasks N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from scratch import scratch_pg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from taskflow_side import taskflow_case

STATEMENTS = {"n": 0}


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args: Any) -> None:
    STATEMENTS["n"] += 1


def recorder_case(url: str, mode: str, size: int, full: bool) -> Callable[[], None]:
    from recorder import engines, task
    from recorder.patterns import linear_flow
    from recorder.persistence import connect

    class Noop(task.Task):
        def execute(self) -> int:
            return 1

    backend = connect(url, mode=mode)

    def run() -> None:
        flow = linear_flow.Flow("bench").add(*(Noop("t%d" % i) for i in range(size)))
        # "state only" opts out of the default trail, so it measures the state writes alone.
        engine = engines.load(flow, backend=backend, trail=full)
        if full:
            from recorder import record

            with record(engine):
                engine.run()
        else:
            engine.run()

    return run


def measure(run: Callable[[], None], size: int, repeat: int) -> tuple[float, float]:
    """(median microseconds per task, SQL statements per task)."""
    run()
    times = []
    STATEMENTS["n"] = 0
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / size * 1e6, STATEMENTS["n"] / (repeat * size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument(
        "--taskflow-tasks", type=int, default=None, help="default: --tasks (the same flow)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-taskflow", action="store_true")
    args = parser.parse_args()
    taskflow_tasks = args.taskflow_tasks or args.tasks

    from recorder.persistence import migrate

    rows: list[tuple[str, str, str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, scratch_pg() as pg_url:
        sqlite_url = "sqlite:///%s/recorder.db" % tmp
        migrate.upgrade(sqlite_url)
        targets = [("sqlite", sqlite_url)]
        if pg_url:
            migrate.upgrade(pg_url)
            targets.append(("postgres", pg_url))
        for db_name, url in targets:
            for full in (False, True):
                for mode in ("durable", "batched"):
                    us, stmts = measure(
                        recorder_case(url, mode, args.tasks, full), args.tasks, args.repeat
                    )
                    what = "full recording" if full else "state only"
                    rows.append(("recorder " + mode, db_name, what, us, stmts))
        if not args.no_taskflow:
            tf_url = "sqlite:///%s/taskflow.db" % tmp
            for full in (False, True):
                case = taskflow_case(tf_url, taskflow_tasks, full)
                if case is None:
                    break
                us, stmts = measure(case, taskflow_tasks, 1)
                what = "Duration+EventTime" if full else "state only"
                rows.append(("taskflow 6.5", "sqlite", what, us, stmts))

    print("%-18s %-9s %-19s %12s %10s" % ("system", "database", "listeners", "us/task", "SQL/task"))
    for system, db_name, what, us, stmts in rows:
        print("%-18s %-9s %-19s %12.1f %10.1f" % (system, db_name, what, us, stmts))
    baseline = {what: us for system, db, what, us, _ in rows if system.startswith("taskflow")}
    if baseline:
        print("\nratio TaskFlow(sqlite) / recorder, per task:")
        for system, db_name, what, us, _ in rows:
            if system.startswith("recorder"):
                key = "Duration+EventTime" if what == "full recording" else "state only"
                if key in baseline:
                    print("  %-18s %-9s %-15s %8.0fx" % (system, db_name, what, baseline[key] / us))


if __name__ == "__main__":
    main()
