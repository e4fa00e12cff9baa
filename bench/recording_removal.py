"""What each part of full recording costs, measured by taking it away.

``recording_profile.py`` splits the engine thread's time with cProfile, which
charges every Python call a little extra, so call-heavy parts look dearer than
they are. This bench measures the other way round: the same 1,000-task flow on a
``batched`` SQLite backend, run in full and with one part removed, each run on a
fresh migrated database and a collected heap, in rounds run back to back; a
part's cost is the median over rounds of (full - without it), in this process's
CPU microseconds per task (both threads: the writer's too).

Runs: ``full``; ``no listeners`` (the trail only, no ``record()``); ``no trail``
(``record()`` on an engine loaded with ``trail=False``); ``written, not
prepared`` (storage, listeners and trail as usual, the backend drops each write
as it gets it); ``prepared, not sent`` (it prepares each write's SQL parameters,
then drops them); ``engine alone``. The raw replay of the full run's statements
is measured in the same rounds, for the writer's share.

    .venv/bin/python bench/recording_removal.py [--tasks 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from gc_watch import collected_heap
from recording_runs import (
    capture_one,
    fresh_db,
    one_timed,
    replay_fresh,
    run_engine_alone,
    run_recorded,
)
from replay import Txn


def _recorded(
    tmp: str, size: int, write: str = "sent", listeners: bool = True, trail: bool | None = None
) -> float:
    """CPU seconds of one flow recorded into a fresh database (load + run + flush),
    the listeners, the trail or the write path (``write``) taken away."""
    from recorder.persistence import connect

    with fresh_db("sqlite", tmp) as url:
        assert url is not None
        backend = connect(url, mode="batched")
        try:
            if write != "sent":
                prepare = backend._statements.prepare

                def dropped(ops: Any) -> None:
                    if write == "prepared":
                        prepare(ops)

                backend.write = dropped  # type: ignore[method-assign]
            collected_heap()
            started = time.process_time()
            run_recorded(backend, size, listeners=listeners, trail=trail)
            return time.process_time() - started
        finally:
            backend.close()


def _replay_cpu(tmp: str, txns: list[Txn]) -> float:
    """CPU seconds of the replay alone (not the fresh database's migration; the replay
    collects the heap after it)."""
    return replay_fresh("sqlite", tmp, txns)[1]


def _cpu(run: Callable[[], Any]) -> float:
    """CPU seconds of ``run`` on a collected heap."""
    collected_heap()
    return one_timed(run)[1]


def rounds(tmp: str, size: int, repeat: int) -> dict[str, float]:
    """Median CPU microseconds per task of each run, over ``repeat`` rounds."""
    with fresh_db("sqlite", tmp) as url:
        assert url is not None
        txns, _ = capture_one(url, "batched", size)
    runs: dict[str, Callable[[], float]] = {
        "full": lambda: _recorded(tmp, size),
        "no listeners": lambda: _recorded(tmp, size, listeners=False),
        "no trail": lambda: _recorded(tmp, size, trail=False),
        "written, not prepared": lambda: _recorded(tmp, size, write="dropped"),
        "prepared, not sent": lambda: _recorded(tmp, size, write="prepared"),
        "engine alone": lambda: _cpu(lambda: run_engine_alone(size)),
        "raw replay": lambda: _replay_cpu(tmp, txns),
    }
    for run in runs.values():  # warm up
        run()
    measured: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            measured[name].append(run())
    return {name: statistics.median(values) / size * 1e6 for name, values in measured.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        us = rounds(tmp, args.tasks, args.repeat)
    print(
        "\nsqlite batched, %d tasks, CPU us/task (median of %d rounds):" % (args.tasks, args.repeat)
    )
    for name, value in us.items():
        print("  %-24s %7.1f" % (name, value))
    full = us["full"]
    print("\ncost by removal (full minus the run without it):")
    parts = (
        ("listeners (record()), with their meta writes", full - us["no listeners"]),
        ("trail, with its rows' writes", full - us["no trail"]),
        ("the write path: preparing, writer, SQL", full - us["written, not prepared"]),
        (
            "  preparing each write's SQL parameters",
            us["prepared, not sent"] - us["written, not prepared"],
        ),
        ("  the writer: hand-off, plan, SQL", full - us["prepared, not sent"]),
        ("    of which the raw replay of the same SQL", us["raw replay"]),
        (
            "engine-side recording: storage, ops, undo, notifier",
            us["written, not prepared"] - us["engine alone"],
        ),
    )
    for label, value in parts:
        print("  %-52s %7.1f" % (label, value))
    print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
