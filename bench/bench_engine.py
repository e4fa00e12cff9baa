"""Engine overhead per trivial task: recorder vs TaskFlow, side by side in one run.

Prints, for linear flows of 100 and 1,000 no-op tasks, the time per task to load
and run the flow on the serial and the parallel engine (no listeners, no
database), for recorder and (when installed) TaskFlow, and their ratio; plus
the 1,000-task / 100-task per-task cost ratio, which stays near 1 when
scheduling is O(N).

    .venv/bin/python bench/bench_engine.py [--sizes 100 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any


def recorder_runner(size: int, engine: str) -> Callable[[], None]:
    from recorder import engines, task
    from recorder.patterns import linear_flow

    class Noop(task.Task):
        def execute(self) -> None:
            return None

    def run() -> None:
        flow = linear_flow.Flow("bench").add(*(Noop("t%d" % i) for i in range(size)))
        engines.load(flow, engine=engine, max_workers=2 if engine == "parallel" else None).run()

    return run


def taskflow_runner(size: int, engine: str) -> Callable[[], None] | None:
    try:
        from taskflow import engines, task
        from taskflow.patterns import linear_flow
    except ImportError:
        return None

    class Noop(task.Task):  # type: ignore[misc]
        def execute(self) -> None:
            return None

    def run() -> None:
        flow = linear_flow.Flow("bench").add(*(Noop("t%d" % i) for i in range(size)))
        options: dict[str, Any] = {"engine": engine}
        if engine == "parallel":
            options["max_workers"] = 2
        engines.load(flow, **options).run()

    return run


def per_task_us(run: Callable[[], None], size: int, repeat: int) -> float:
    """Median over ``repeat`` runs of the wall time per task, in microseconds."""
    run()  # warm up imports and caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / size * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--taskflow-repeat", type=int, default=1)
    parser.add_argument("--no-taskflow", action="store_true", help="skip the TaskFlow side")
    args = parser.parse_args()

    print("%-9s %6s %14s %14s %9s" % ("engine", "tasks", "recorder us", "taskflow us", "ratio"))
    results: dict[tuple[str, int], float] = {}
    for engine in ("serial", "parallel"):
        for size in args.sizes:
            ours = per_task_us(recorder_runner(size, engine), size, args.repeat)
            results[(engine, size)] = ours
            theirs_run = None if args.no_taskflow else taskflow_runner(size, engine)
            if theirs_run is None:
                print("%-9s %6d %14.1f %14s %9s" % (engine, size, ours, "n/a", "n/a"))
                continue
            theirs = per_task_us(theirs_run, size, args.taskflow_repeat)
            print("%-9s %6d %14.1f %14.1f %8.0fx" % (engine, size, ours, theirs, theirs / ours))
    if len(args.sizes) >= 2:
        small, large = min(args.sizes), max(args.sizes)
        for engine in ("serial", "parallel"):
            growth = results[(engine, large)] / results[(engine, small)]
            print(
                "%s: per-task cost at %d tasks / at %d tasks = %.2f (O(N) scheduling keeps it ~1)"
                % (engine, large, small, growth)
            )


if __name__ == "__main__":
    main()
