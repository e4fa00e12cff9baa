"""Added cost per task of recording a real TaskFlow engine: the bridge vs TaskFlow's own listeners.

A linear flow of no-op tasks runs on TaskFlow's serial engine with TaskFlow's
SQLAlchemy backend (SQLite file, and PostgreSQL when a server answers). Side by
side in one run, the median wall time per task of:

* ``taskflow alone``: the engine and its own persistence, nothing listening;
* ``taskflow listeners``: plus TaskFlow's DurationListener + EventTimeListener
  (meta written through TaskFlow's backend);
* ``bridge batched`` / ``bridge durable``: plus
  ``recorder.integrations.taskflow.record`` into recorder's schema (flow and atom
  rows, the hash-chained transitions, timing meta), timed up to the end of the
  ``with`` block, so a batched run's final flush is in the figure.

Added cost = variant - alone. The last column is the bridge's added cost over
the listeners' (below 1: the bridge costs less). On PostgreSQL both schemas live
in the same scratch database; on SQLite recorder has its own file.

    .venv/bin/python bench/bench_bridge.py [--tasks 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

from scratch import scratch_pg

with warnings.catch_warnings():  # oslo_utils.eventletutils warns on import (TaskFlow's)
    warnings.simplefilter("ignore", DeprecationWarning)
    from taskflow import engines, task
    from taskflow.listeners import timing
    from taskflow.patterns import linear_flow
    from taskflow.persistence import backends

from recorder.integrations.taskflow import record


class Noop(task.Task):  # type: ignore[misc]
    def execute(self) -> None:
        return None


def taskflow_backend(url: str) -> Any:
    backend = backends.fetch({"connection": url})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    return backend


def case(tf_backend: Any, tasks: int, variant: str, rec_url: str) -> Callable[[], None]:
    def run() -> None:
        flow = linear_flow.Flow("bench").add(*(Noop("t%d" % i) for i in range(tasks)))
        engine = engines.load(flow, backend=tf_backend)
        if variant == "alone":
            engine.run()
        elif variant == "listeners":
            with timing.DurationListener(engine), timing.EventTimeListener(engine):
                engine.run()
        else:
            with record(engine, backend=rec_url, mode=variant) as bridge:
                engine.run()
            if bridge.failure_count:
                raise SystemExit("the bridge failed: %s" % bridge.errors[-1])

    return run


def per_task_us(runs: dict[str, Callable[[], None]], tasks: int, repeat: int) -> dict[str, float]:
    """Median wall time per task of each run, in microseconds. The runs take turns
    (one of each per round), so a change in the machine's load reaches them alike."""
    for run in runs.values():
        run()  # warm up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) / tasks * 1e6 for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import logging

    logging.getLogger("taskflow").setLevel(logging.ERROR)  # "No logbook provided" per run
    from recorder.persistence import migrate

    with tempfile.TemporaryDirectory() as tmp, scratch_pg() as pg_url:
        targets = [("sqlite", "sqlite:///%s" % os.path.join(tmp, "taskflow.db"), None)]
        rec_sqlite = "sqlite:///%s" % os.path.join(tmp, "recorder.db")
        migrate.upgrade(rec_sqlite)
        targets[0] = (*targets[0][:2], rec_sqlite)
        if pg_url:
            targets.append(("postgres", pg_url, pg_url))  # one database, both schemas
        print(
            "%-9s %-19s %12s %12s %14s"
            % ("database", "variant", "us/task", "added us", "added/listeners")
        )
        for db_name, tf_url, rec_url in targets:
            backend = taskflow_backend(tf_url)
            variants = ("alone", "listeners", "batched", "durable")
            runs = {v: case(backend, args.tasks, v, str(rec_url)) for v in variants}
            us = per_task_us(runs, args.tasks, args.repeat)
            theirs = us["listeners"] - us["alone"]
            print(
                "%-9s %-19s %12.1f %12s %14s" % (db_name, "taskflow alone", us["alone"], "-", "-")
            )
            print(
                "%-9s %-19s %12.1f %12.1f %14s"
                % (db_name, "taskflow listeners", us["listeners"], theirs, "1.00")
            )
            for mode in ("batched", "durable"):
                added = us[mode] - us["alone"]
                print(
                    "%-9s %-19s %12.1f %12.1f %14.2f"
                    % (db_name, "bridge " + mode, us[mode], added, added / theirs)
                )
            backend.close()


if __name__ == "__main__":
    main()
