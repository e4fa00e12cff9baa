"""The cost of full recording against the SQL it writes, measured side by side in one run.

For a linear flow of trivial tasks (default 1,000) with full recording -- the
engine's default transitions trail plus ``recorder.record(engine)`` (duration
and event-time meta) -- this prints, in microseconds per task (median of
``--repeat`` runs, load + run + flush):

* ``recorder``: SQLite and PostgreSQL (scratch database), ``batched`` and ``durable``,
  each run into a fresh migrated database, as the replay's;
* ``replay``: the statements that recorder actually sent for one such flow
  (captured with SQLAlchemy's ``before_cursor_execute`` and ``commit`` events,
  see ``replay.py``), sent again on the bare driver (``sqlite3`` / ``psycopg``)
  into a fresh migrated database with the same transactions; only the replay
  is timed -- the floor, measured, never assumed;
* ``engine``: the same flow on an engine without a backend;
* the ratio recorder / (replay + engine) per configuration;
* the flat-Python floor (``recording_floor.py``): the same facts recorded by one
  function with no layers, so ``(engine + floor + replay) / (engine + replay)``
  is the best ratio pure Python can reach, and, per configuration, the layers
  the target allows (target x (replay + engine) minus that sum) beside those
  recorder's layers use; and the same facts in the listener contract's shape
  (``recording_contract.py``), what that shape costs by itself; and that shape
  with recorder's guarantees kept in the least Python (``recording_guarantees.py``:
  atoms saved at load, undo, a lock, input checks, the writer's hand-off), so
  ``(engine + guarantees + replay) / (engine + replay)`` is the best ratio a
  recorder keeping its promises can reach; for durable mode, that model committing
  each state change on the bare driver as it goes (``recording_interleaved.py``), as
  a durable recorder must, so the Python and the commits take turns as they do in
  recorder;
* TaskFlow 6.5
  (+ DurationListener + EventTimeListener on its SQLAlchemy backend, a smaller
  flow, ``--taskflow-tasks``) / recorder.

``--concurrency`` and ``--memory`` add the figures of ``recording_scaling.py``:
8 threads sharing one durable backend vs 8 processes (commits per write, wall
time), the parallel engine against the serial one (unordered flow), 8 processes
x 1,000-task flows on one PostgreSQL (transitions/s each and in aggregate, for
recorder and for the raw replay), and the peak RSS growth per task of a
100,000-task batched flow beyond the engine's own.

    .venv/bin/python bench/bench_recording.py [--tasks 1000] [--concurrency] [--memory]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable

import gc_watch
import recording_scaling as scaling
from gc_watch import collected_heap
from recording_contract import record_contract
from recording_floor import check_floor, record_floor
from recording_guarantees import record_guaranteed
from recording_interleaved import committing_fresh
from recording_runs import (
    capture_one,
    describe_build,
    fresh_db,
    measure_us,
    median_us,
    one_recorded_run,
    one_timed,
    replay_fresh,
    run_engine_alone,
    taskflow_db,
)
from replay import Txn
from taskflow_side import taskflow_case


class SideBySide:
    """Rounds of the engine alone, the flat floor, the contract's shape, the replay and
    recorder, each round measured back to back: a slow spell of a shared machine falls
    on one round's figures alike, and the ratio reported is the median of the rounds'."""

    def __init__(self, kind: str, tmp: str, mode: str, size: int, txns: list[Txn]) -> None:
        self.size = size
        self.rounds: list[dict[str, tuple[float, float]]] = []
        # Per part: (collections, seconds in them) inside each round's timed run.
        self.collections: dict[str, list[tuple[int, float]]] = {}
        self._runs: dict[str, Callable[[], tuple[float, float]]] = {
            "engine": lambda: one_timed(lambda: run_engine_alone(size)),
            "floor": lambda: one_timed(lambda: record_floor(size)),
            "contract": lambda: one_timed(lambda: record_contract(size)),
            "guarantees": lambda: one_timed(lambda: record_guaranteed(size)),
            "replay": lambda: replay_fresh(kind, tmp, txns),
            "recorder": lambda: one_recorded_run(kind, tmp, mode, size),
        }
        if mode == "durable":  # (batched commits are few: nothing to interleave)
            self._runs["committing"] = lambda: committing_fresh(kind, tmp, txns, size)

    def run(self, repeat: int) -> SideBySide:
        for run in self._runs.values():  # warm up (imports, caches, files)
            run()
        for _ in range(repeat):
            self.rounds.append(
                {name: self._collected(name, run) for name, run in self._runs.items()}
            )
        return self

    def _collected(self, name: str, run: Callable[[], tuple[float, float]]) -> tuple[float, float]:
        """Each part starts on a collected heap, so none pays for another's garbage
        (gc_watch.py); the collections its own garbage causes are counted."""
        collected_heap()
        timed = run()
        self.collections.setdefault(name, []).append(gc_watch.seen())
        return timed

    def gc_figures(self, name: str) -> tuple[float, float]:
        """Median collections per 1,000 tasks, and microseconds per task in them."""
        found = self.collections.get(name, [])
        per = 1000 / self.size
        return (
            statistics.median(count * per for count, _ in found),
            statistics.median(seconds / self.size * 1e6 for _, seconds in found),
        )

    def us(self, name: str, cpu: bool = False) -> float:
        """Median microseconds per task of one part (wall, or this process's CPU)."""
        return statistics.median(r[name][cpu] for r in self.rounds) / self.size * 1e6

    def least_us(self) -> float:
        """Engine + floor + replay: what a recorder with no code around its rows costs."""
        return self.us("engine") + self.us("floor") + self.us("replay")

    def ratio(self, cpu: bool = False, *, over: tuple[str, ...] = ("recorder",)) -> float:
        """Median over rounds of sum(``over``) / (replay + engine)."""
        return statistics.median(
            sum(r[name][cpu] for name in over) / (r["replay"][cpu] + r["engine"][cpu])
            for r in self.rounds
        )


def taskflow_us(url: str, size: int) -> float | None:
    """TaskFlow's median over three runs (after a warm-up): one run of its flow varied
    by a factor of 1.7 between bench runs on a shared machine."""
    run = taskflow_case(url, size, full=True)
    return None if run is None else median_us(run, size, 3)


def main_table(args: argparse.Namespace, tmp: str) -> None:
    size, repeat = args.tasks, args.repeat
    engine, engine_cpu = measure_us(lambda: run_engine_alone(size), size, repeat)
    print("engine alone (no backend): %.1f us/task wall, %.1f CPU\n" % (engine, engine_cpu))
    # The flat models do the recorder's work (their chains verify).
    check_floor(*record_floor(50))
    check_floor(*record_contract(50))
    check_floor(*record_guaranteed(50))
    print("wall, us/task (median of %d rounds, each run side by side):" % repeat)
    print(
        "%-18s %9s %8s %14s %7s %8s %10s %13s"
        % (
            "configuration",
            "recorder",
            "replay",
            "replay+engine",
            "ratio",
            "commits",
            "stmts/task",
            "CPU ratio",
        )
    )
    results: dict[str, float] = {}
    measured: list[tuple[str, SideBySide]] = []
    for kind in ("sqlite", "postgres"):
        for mode in ("batched", "durable"):
            label = "%s %s" % (kind, mode)
            with fresh_db(kind, tmp) as url:
                if url is None:
                    print("%-18s no PostgreSQL server, skipped" % label)
                    continue
                txns, summary = capture_one(url, mode, size)
            side = SideBySide(kind, tmp, mode, size, txns).run(repeat)
            ours, floor = side.us("recorder"), side.us("replay")
            results[label] = ours
            measured.append((label, side))
            print(
                "%-18s %9.1f %8.1f %14.1f %6.2fx %8d %10.2f %12.2fx"
                % (
                    label,
                    ours,
                    floor,
                    floor + side.us("engine"),
                    side.ratio(),
                    summary["commits"],
                    summary["statements"] / size,
                    side.ratio(cpu=True),
                )
            )
    print(
        "(ratio: the median of the rounds' recorder / (replay + engine), each round run"
        " side by side; CPU ratio: the same of this process's CPU -- on PostgreSQL the"
        " server's share is not in it. Under load, it is the steadier figure.)"
    )
    print_collections(measured)
    print_floor(measured)
    if args.no_taskflow:
        return
    print("\nTaskFlow 6.5 + DurationListener + EventTimeListener, %d tasks:" % args.taskflow_tasks)
    for kind in ("sqlite", "postgres"):
        with taskflow_db(kind, tmp) as url:
            if url is None:
                continue
            theirs = taskflow_us(url, args.taskflow_tasks)
            if theirs is None:
                print("  not installed")
                return
            print("  %-9s %10.1f us/task" % (kind, theirs))
            for label, side in measured:
                if label.startswith(kind):
                    print(
                        "    TaskFlow / recorder %-18s %6.0fx (best possible, TaskFlow /"
                        " (engine + floor + replay): %.0fx)"
                        % (label, theirs / results[label], theirs / side.least_us())
                    )


def print_collections(measured: list[tuple[str, SideBySide]]) -> None:
    """The garbage collector's work inside the timed runs, which start collected."""
    print(
        "\ngarbage collection inside the timed runs (median; collections per 1,000 tasks,"
        " us/task in them):"
    )
    for label, side in measured:
        ours, engine = side.gc_figures("recorder"), side.gc_figures("engine")
        print(
            "%-18s recorder %5.1f (%5.1f us)   engine alone %5.1f (%5.1f us)"
            % (label, *ours, *engine)
        )


# The targets: recorder / (replay + engine).
TARGETS = {
    "sqlite batched": 2.0,
    "sqlite durable": 1.5,
    "postgres batched": 2.0,
    "postgres durable": 1.25,
}


def print_floor(measured: list[tuple[str, SideBySide]]) -> None:
    """What the targets leave for recorder's layers: the best ratio pure Python can
    reach -- the same facts recorded by one flat function (``recording_floor.py``),
    plus the engine and the replay -- and, per configuration, the layers the target
    allows beside those recorder uses."""
    if not measured:
        return
    flat = statistics.median(side.us("floor", cpu=True) for _, side in measured)
    shaped = statistics.median(side.us("contract", cpu=True) for _, side in measured)
    print("\nflat-Python floor (the same facts, one function, no SQL): %.1f us/task CPU" % flat)
    print(
        "the same facts in the listener contract's shape (recording_contract.py): %.1f us/task"
        " CPU, %.1f above the floor" % (shaped, shaped - flat)
    )
    kept = statistics.median(side.us("guarantees", cpu=True) for _, side in measured)
    print(
        "the same, keeping recorder's guarantees flat (recording_guarantees.py): %.1f us/task"
        " CPU, %.1f above the contract's shape" % (kept, kept - shaped)
    )
    print(
        "%-18s %14s %11s %10s %8s %10s %16s %13s"
        % (
            "configuration",
            "best possible",
            "guaranteed",
            "committing",
            "target",
            "recorder",
            "layers allowed",
            "layers used",
        )
    )
    for label, side in measured:
        least = side.least_us()
        target = TARGETS[label]
        committing = (
            "%9.2fx" % side.ratio(over=("engine", "committing"))
            if "committing" in side.rounds[0]
            else "%10s" % "-"
        )
        print(
            "%-18s %13.2fx %10.2fx %s %7.2fx %9.2fx %13.1f us %10.1f us"
            % (
                label,
                side.ratio(over=("engine", "floor", "replay")),
                side.ratio(over=("engine", "guarantees", "replay")),
                committing,
                target,
                side.ratio(),
                target * (side.us("engine") + side.us("replay")) - least,
                side.us("recorder") - least,
            )
        )
    print(
        "(best possible: the median of the rounds' (engine + floor + replay) / (replay +"
        " engine); guaranteed: the same with the guarantees kept flat, (engine + guarantees +"
        " replay) / (replay + engine), the best a recorder keeping its promises can reach;"
        " committing (durable): the guarantees model committing each state change on the"
        " bare driver as it goes (recording_interleaved.py), (engine + that) / (replay +"
        " engine), the same best with the commits taking turns with the Python;"
        " layers allowed: target x (replay + engine) - (engine + floor + replay);"
        " layers used: recorder - (engine + floor + replay), what its ops, undo, locks,"
        " notifier and writer cost per task.)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--taskflow-tasks", type=int, default=100)
    parser.add_argument("--no-taskflow", action="store_true")
    parser.add_argument("--concurrency", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-tasks", type=int, default=100_000)
    args = parser.parse_args()
    print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    print("recording path: %s" % describe_build())
    with tempfile.TemporaryDirectory() as tmp:
        main_table(args, tmp)
        if args.concurrency:
            print("\nconcurrency:")
            for kind in ("sqlite", "postgres"):
                scaling.threads_vs_processes(kind, tmp, 8, 200)
            scaling.parallel_vs_serial(tmp, args.tasks, args.repeat)
            scaling.pg_processes(tmp, args.tasks, 8)
        if args.memory:
            print("\nmemory:")
            scaling.memory(tmp, args.memory_tasks)
    print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
