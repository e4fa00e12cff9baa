"""Added cost per task of recording a real TaskFlow engine: the bridge vs TaskFlow's own listeners.

A linear flow of no-op tasks runs on TaskFlow's serial engine with TaskFlow's
SQLAlchemy backend (SQLite file, and PostgreSQL when a server answers). Side by
side in one run (the variants take turns, so a change of load reaches all):

* ``taskflow alone``: the engine and its own persistence, nothing listening;
* ``taskflow listeners``: plus TaskFlow's DurationListener + EventTimeListener
  (their meta written through TaskFlow's backend);
* ``bridge batched`` / ``bridge durable``: plus
  ``recorder.integrations.taskflow.record`` into recorder's schema (flow and atom
  rows, hash-chained transitions, timing meta).

Two figures per variant: the wall time per task, and the *added cost*: the time
TaskFlow's engine thread spends inside the recording code per task (the
listeners' callbacks, or the bridge's callbacks plus its flush at the end of
the ``with`` block). TaskFlow's own persistence commits several times per task,
so on a slow disk the wall times are noisy and the added cost is the figure to
compare; the last column is the bridge's over the listeners' (below 1: cheaper).
On PostgreSQL both schemas live in one scratch database; on SQLite recorder has
its own file.

    .venv/bin/python bench/bench_bridge.py [--tasks 100] [--repeat 3]
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

from recorder.integrations.taskflow import TaskFlowRecorder

SPENT = [0.0]  # seconds spent in recording code, this run


def _timed(call: Callable[..., None], *args: Any) -> None:
    start = time.perf_counter()
    try:
        call(*args)
    finally:
        SPENT[0] += time.perf_counter() - start


class TimedDuration(timing.DurationListener):  # type: ignore[misc]
    def _task_receiver(self, state: str, details: Any) -> None:
        _timed(super()._task_receiver, state, details)

    def _flow_receiver(self, state: str, details: Any) -> None:
        _timed(super()._flow_receiver, state, details)

    def _retry_receiver(self, state: str, details: Any) -> None:
        _timed(super()._retry_receiver, state, details)


class TimedEventTime(timing.EventTimeListener):  # type: ignore[misc]
    def _task_receiver(self, state: str, details: Any) -> None:
        _timed(super()._task_receiver, state, details)

    def _flow_receiver(self, state: str, details: Any) -> None:
        _timed(super()._flow_receiver, state, details)

    def _retry_receiver(self, state: str, details: Any) -> None:
        _timed(super()._retry_receiver, state, details)


class TimedBridge(TaskFlowRecorder):
    def _record(self, *args: Any) -> None:
        _timed(super()._record, *args)

    def deregister(self) -> None:
        _timed(super().deregister)


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
            with TimedDuration(engine), TimedEventTime(engine):
                engine.run()
        else:
            with TimedBridge(engine, rec_url, mode=variant) as bridge:
                engine.run()
            if bridge.failure_count:
                raise SystemExit("the bridge failed: %s" % bridge.errors[-1])

    return run


def measure(
    runs: dict[str, Callable[[], None]], tasks: int, repeat: int
) -> dict[str, tuple[float, float]]:
    """Per run: median (wall, recording-code) time per task, in microseconds. The
    runs take turns (one of each per round)."""
    for run in runs.values():
        run()  # warm up
    walls: dict[str, list[float]] = {name: [] for name in runs}
    spent: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            SPENT[0] = 0.0
            start = time.perf_counter()
            run()
            walls[name].append(time.perf_counter() - start)
            spent[name].append(SPENT[0])
    return {
        name: (
            statistics.median(walls[name]) / tasks * 1e6,
            statistics.median(spent[name]) / tasks * 1e6,
        )
        for name in runs
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging

    logging.getLogger("taskflow").setLevel(logging.ERROR)  # "No logbook provided" per run
    from recorder.persistence import migrate

    with tempfile.TemporaryDirectory() as tmp, scratch_pg() as pg_url:
        rec_sqlite = "sqlite:///%s" % os.path.join(tmp, "recorder.db")
        migrate.upgrade(rec_sqlite)
        targets = [("sqlite", "sqlite:///%s" % os.path.join(tmp, "taskflow.db"), rec_sqlite)]
        if pg_url:
            targets.append(("postgres", pg_url, pg_url))  # one database, both schemas
        print(
            "%-9s %-19s %12s %13s %16s"
            % ("database", "variant", "wall us/task", "added us/task", "added/listeners")
        )
        for db_name, tf_url, rec_url in targets:
            backend = taskflow_backend(tf_url)
            variants = ("alone", "listeners", "batched", "durable")
            runs = {v: case(backend, args.tasks, v, str(rec_url)) for v in variants}
            us = measure(runs, args.tasks, args.repeat)
            theirs = us["listeners"][1]
            names = {"alone": "taskflow alone", "listeners": "taskflow listeners"}
            for variant in variants:
                wall, added = us[variant]
                ratio = "-" if variant == "alone" else "%.2f" % (added / theirs)
                shown = "-" if variant == "alone" else "%.1f" % added
                label = names.get(variant, "bridge " + variant)
                print("%-9s %-19s %12.1f %13s %16s" % (db_name, label, wall, shown, ratio))
            backend.close()


if __name__ == "__main__":
    main()
