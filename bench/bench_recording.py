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
  is the best ratio pure Python can reach, and recorder minus that sum is what
  its layers cost;
* TaskFlow 6.5
  (+ DurationListener + EventTimeListener on its SQLAlchemy backend, a smaller
  flow, ``--taskflow-tasks``) / recorder.

``--concurrency`` adds: 8 threads sharing one durable backend vs 8 processes
(commits per write, wall time), the parallel engine against the serial one
(unordered flow), and 8 processes x 1,000-task flows on one PostgreSQL
(transitions/s each and in aggregate). ``--memory`` adds the peak RSS growth
per task of a 100,000-task batched flow beyond the engine's own (subprocesses,
``resource``).

    .venv/bin/python bench/bench_recording.py [--tasks 1000] [--concurrency] [--memory]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from recording_floor import check_floor, record_floor
from replay import Capture, Txn, replay
from scratch import scratch_pg
from taskflow_side import taskflow_case

HERE = os.path.dirname(os.path.abspath(__file__))


def noop_flow(size: int, pattern: str = "linear") -> Any:
    from recorder import task
    from recorder.patterns import linear_flow, unordered_flow

    class Noop(task.Task):
        def execute(self) -> int:
            return 1

    module = linear_flow if pattern == "linear" else unordered_flow
    return module.Flow("bench").add(*(Noop("t%d" % i) for i in range(size)))


def run_recorded(backend: Any, size: int, engine: str = "serial", pattern: str = "linear") -> None:
    """Load and run one fully recorded flow on ``backend``, then flush it."""
    from recorder import engines, record

    loaded = engines.load(noop_flow(size, pattern), backend=backend, engine=engine)
    with record(loaded):
        loaded.run()
    backend.flush()


def run_engine_alone(size: int) -> None:
    from recorder import engines

    engines.load(noop_flow(size)).run()


def measure_us(run: Callable[[], Any], size: int, repeat: int) -> tuple[float, float]:
    """Median (wall, this process's CPU) microseconds per task over ``repeat`` runs."""
    run()  # warm up (imports, caches, the database file)
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) / size * 1e6, statistics.median(cpus) / size * 1e6


def median_us(run: Callable[[], Any], size: int, repeat: int) -> float:
    return measure_us(run, size, repeat)[0]


@contextlib.contextmanager
def fresh_db(kind: str, tmp: str) -> Iterator[str | None]:
    """A fresh migrated database of ``kind`` ('sqlite' or 'postgres')."""
    from recorder.persistence import migrate

    if kind == "sqlite":
        url = "sqlite:///%s/%s.db" % (tmp, uuid.uuid4().hex[:8])
        migrate.upgrade(url)
        yield url
        return
    with scratch_pg() as url:
        yield url


@contextlib.contextmanager
def taskflow_db(kind: str, tmp: str) -> Iterator[str | None]:
    """An empty database for TaskFlow's own schema (it migrates it itself)."""
    if kind == "sqlite":
        yield "sqlite:///%s/taskflow-%s.db" % (tmp, uuid.uuid4().hex[:8])
        return
    with scratch_pg(migrated=False) as url:
        yield None if url is None else url.replace("postgresql://", "postgresql+psycopg://")


def capture_one(url: str, mode: str, size: int) -> tuple[list[Txn], dict[str, int]]:
    from recorder.persistence import connect

    backend = connect(url, mode=mode)
    try:
        capture = Capture(backend.engine)
        try:
            run_recorded(backend, size)
        finally:
            capture.stop()
    finally:
        backend.close()
    return capture.txns, capture.summary()


def replay_us(kind: str, tmp: str, txns: list[Txn], size: int, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        with fresh_db(kind, tmp) as url:
            assert url is not None
            wall, cpu = replay(url, txns)
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls) / size * 1e6, statistics.median(cpus) / size * 1e6


def one_recorded_run(kind: str, tmp: str, mode: str, size: int) -> tuple[float, float]:
    """(wall, CPU) seconds of recording one flow into a fresh migrated database, as
    each replay runs: a database that earlier runs grew makes the same statements
    dearer (WAL checkpoints, deeper indexes), and the ratio must compare like with
    like. Connecting is not timed (nor is it in the replay)."""
    from recorder.persistence import connect

    with fresh_db(kind, tmp) as url:
        assert url is not None
        backend = connect(url, mode=mode)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            run_recorded(backend, size)
            return time.perf_counter() - started, time.process_time() - cpu
        finally:
            backend.close()


def one_timed(run: Callable[[], Any]) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - started, time.process_time() - cpu


class SideBySide:
    """Rounds of the engine alone, the flat floor, the replay and recorder, each round
    measured back to back: a slow spell of a shared machine falls on one round's
    four figures alike, and the ratio reported is the median of the rounds'."""

    def __init__(self, kind: str, tmp: str, mode: str, size: int, txns: list[Txn]) -> None:
        self.size = size
        self.rounds: list[dict[str, tuple[float, float]]] = []
        self._runs: dict[str, Callable[[], tuple[float, float]]] = {
            "engine": lambda: one_timed(lambda: run_engine_alone(size)),
            "floor": lambda: one_timed(lambda: record_floor(size)),
            "replay": lambda: self._replay(kind, tmp, txns),
            "recorder": lambda: one_recorded_run(kind, tmp, mode, size),
        }

    @staticmethod
    def _replay(kind: str, tmp: str, txns: list[Txn]) -> tuple[float, float]:
        with fresh_db(kind, tmp) as url:
            assert url is not None
            return replay(url, txns)

    def run(self, repeat: int) -> SideBySide:
        for run in self._runs.values():  # warm up (imports, caches, files)
            run()
        for _ in range(repeat):
            self.rounds.append({name: self._collected(run) for name, run in self._runs.items()})
        return self

    @staticmethod
    def _collected(run: Callable[[], tuple[float, float]]) -> tuple[float, float]:
        """Each part starts on a collected heap, so none pays for another's garbage."""
        gc.collect()
        return run()

    def us(self, name: str, cpu: bool = False) -> float:
        """Median microseconds per task of one part (wall, or this process's CPU)."""
        return statistics.median(r[name][cpu] for r in self.rounds) / self.size * 1e6

    def ratio(self, cpu: bool = False, *, over: tuple[str, ...] = ("recorder",)) -> float:
        """Median over rounds of sum(``over``) / (replay + engine)."""
        return statistics.median(
            sum(r[name][cpu] for name in over) / (r["replay"][cpu] + r["engine"][cpu])
            for r in self.rounds
        )


def taskflow_us(url: str, size: int) -> float | None:
    run = taskflow_case(url, size, full=True)
    return None if run is None else median_us(run, size, 1)


def main_table(args: argparse.Namespace, tmp: str) -> None:
    size, repeat = args.tasks, args.repeat
    engine, engine_cpu = measure_us(lambda: run_engine_alone(size), size, repeat)
    print("engine alone (no backend): %.1f us/task wall, %.1f CPU\n" % (engine, engine_cpu))
    check_floor(*record_floor(50))  # the floor does the recorder's work (its chain verifies)
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
            for label, ours in results.items():
                if label.startswith(kind):
                    print("    TaskFlow / recorder %-18s %8.0fx" % (label, theirs / ours))


def print_floor(measured: list[tuple[str, SideBySide]]) -> None:
    """The best ratio pure Python can reach: the same facts recorded by one flat
    function (``recording_floor.py``), plus the engine and the replay."""
    if not measured:
        return
    flat = statistics.median(side.us("floor", cpu=True) for _, side in measured)
    print("\nflat-Python floor (the same facts, one function, no SQL): %.1f us/task CPU" % flat)
    print("%-18s %14s %11s %12s" % ("configuration", "best possible", "recorder", "above floor"))
    for label, side in measured:
        least = side.us("engine") + side.us("floor") + side.us("replay")
        print(
            "%-18s %13.2fx %10.2fx %9.1f us"
            % (
                label,
                side.ratio(over=("engine", "floor", "replay")),
                side.ratio(),
                side.us("recorder") - least,
            )
        )
    print(
        "(best possible: the median of the rounds' (engine + floor + replay) / (replay +"
        " engine); above floor: what recorder's layers -- ops, undo, locks, notifier,"
        " writer -- cost per task.)"
    )


# -- concurrency ------------------------------------------------------------------


def threads_vs_processes(kind: str, tmp: str, flows: int, size: int) -> None:
    from recorder.persistence import connect

    with fresh_db(kind, tmp) as url:
        if url is None:
            return
        backend = connect(url, mode="durable")
        writes = {"n": 0}
        real_write = backend.write

        def counting_write(ops: Any) -> None:
            writes["n"] += 1
            real_write(ops)

        backend.write = counting_write  # type: ignore[method-assign]
        import threading

        commits0 = backend.stats.commits
        started = time.perf_counter()
        pool = [threading.Thread(target=run_recorded, args=(backend, size)) for _ in range(flows)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        threaded = time.perf_counter() - started
        commits = backend.stats.commits - commits0
        backend.close()
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--child-run", url, str(size), "durable"],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(flows)
        ]
        longest = max(float(proc.communicate()[0].split()[-1]) for proc in procs)
        processes = time.perf_counter() - started
    print(
        "  %-9s %d flows x %d tasks, %d threads on one durable backend: %.2f s, %d commits for"
        " %d writes (%.2f commits/write); %d processes: %.2f s with start-up, longest flow"
        " %.2f s; threads / processes' longest flow %.2fx"
        % (
            kind,
            flows,
            size,
            flows,
            threaded,
            commits,
            writes["n"],
            commits / max(1, writes["n"]),
            flows,
            processes,
            longest,
            threaded / longest,
        )
    )


def parallel_vs_serial(tmp: str, size: int, repeat: int) -> None:
    from recorder.persistence import connect

    with fresh_db("sqlite", tmp) as url:
        assert url is not None
        backend = connect(url, mode="batched")
        serial = median_us(lambda: run_recorded(backend, size, "serial", "unordered"), size, repeat)
        parallel = median_us(
            lambda: run_recorded(backend, size, "parallel", "unordered"), size, repeat
        )
        backend.close()
    print(
        "  parallel engine, full recording, sqlite batched, %d unordered tasks: serial %.1f, "
        "parallel %.1f us/task (%.2fx)" % (size, serial, parallel, parallel / serial)
    )


def pg_processes(tmp: str, size: int, procs: int) -> None:
    with fresh_db("postgres", tmp) as url:
        if url is None:
            return
        rows_per_flow = 2 * size + 4  # RUNNING + SUCCESS per task, the flow's own moves

        def run(n: int) -> list[float]:
            """Each child's seconds for its flow (load + run + flush; not its start-up)."""
            children = [
                subprocess.Popen(
                    [sys.executable, __file__, "--child-run", url, str(size), "batched"],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(n)
            ]
            return [float(child.communicate()[0].split()[-1]) for child in children]

        one = rows_per_flow / statistics.median(run(1) + run(1) + run(1))
        seconds = run(procs)
        each = statistics.mean(rows_per_flow / s for s in seconds)
    print(
        "  postgres batched, %d processes x %d tasks: %.0f transitions/s each (single process "
        "%.0f: %.0f%%), aggregate %.0f rows/s"
        % (procs, size, each, one, 100 * each / one, procs * rows_per_flow / max(seconds))
    )


# -- memory -----------------------------------------------------------------------


def peak_rss_child(size: int, recorded: bool, url: str) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--child-rss", str(size), "1" if recorded else "0", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


def memory(tmp: str, size: int) -> None:
    with fresh_db("sqlite", tmp) as url:
        assert url is not None
        figures = []
        for n in (size // 2, size):
            alone = peak_rss_child(n, False, url)
            recorded = peak_rss_child(n, True, url)
            figures.append((n, alone, recorded))
    for n, alone, recorded in figures:
        print(
            "  %7d tasks: peak RSS growth engine alone %.1f MiB, recorded batched %.1f MiB: "
            "%.0f bytes/task beyond the engine's"
            % (n, alone / 2**20, recorded / 2**20, (recorded - alone) / n)
        )


def _current_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child_rss(size: int, recorded: bool, url: str) -> None:
    import resource

    from recorder import engines, record
    from recorder.persistence import connect

    backend = connect(url, mode="batched") if recorded else None
    # The resident size before the flow is built (its atoms are the engine's own, in both
    # children): not the peak so far, which start-up may have set above what a small
    # flow ever reaches.
    before = _current_rss_kib()
    loaded = engines.load(noop_flow(size), backend=backend)
    if backend is not None:
        with record(loaded):
            loaded.run()
        backend.flush()
    else:
        loaded.run()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024)  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--taskflow-tasks", type=int, default=100)
    parser.add_argument("--no-taskflow", action="store_true")
    parser.add_argument("--concurrency", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-tasks", type=int, default=100_000)
    parser.add_argument("--child-run", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-rss", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_run:
        from recorder.persistence import connect

        url, size, mode = args.child_run
        with connect(url, mode=mode) as backend:
            started = time.perf_counter()
            run_recorded(backend, int(size))
            print(time.perf_counter() - started)
        return
    if args.child_rss:
        size, recorded, url = args.child_rss
        child_rss(int(size), recorded == "1", url)
        return
    print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        main_table(args, tmp)
        if args.concurrency:
            print("\nconcurrency:")
            for kind in ("sqlite", "postgres"):
                threads_vs_processes(kind, tmp, 8, 200)
            parallel_vs_serial(tmp, args.tasks, args.repeat)
            pg_processes(tmp, args.tasks, 8)
        if args.memory:
            print("\nmemory:")
            memory(tmp, args.memory_tasks)
    print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
