"""Where the cost of full recording goes: per thread, garbage collection, and per part.

For a linear flow of trivial tasks (default 1,000) recorded in full on a
``batched`` backend (SQLite, and PostgreSQL when a server is up), this prints,
in CPU microseconds per task (min of ``--repeat`` runs):

* the engine thread (load + run + flush) and, measured alone, the engine without
  a backend: their difference is what recording costs on the engine thread;
* the background writer's thread (its commits), against the raw-driver replay of
  the statements it sent (``replay.py``);
* the time garbage collection took in those runs (both threads);
* the engine thread's recording cost split by part, from a cProfile run with
  garbage collection off: the time of C builtins and the standard library is
  given to the recorder module that called them. cProfile adds a cost per call,
  so call-heavy parts weigh a little more than they do unprofiled: read the
  shares, not the absolute figures.

    .venv/bin/python bench/recording_profile.py [--tasks 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from recording_runs import (
    capture_one,
    describe_build,
    fresh_db,
    replay_us,
    run_engine_alone,
    run_recorded,
)

# Recorder modules -> the part of recording they are (the first match wins).
PARTS = (
    ("recorder/audit/", "trail: row, hash, summary"),
    ("recorder/listeners/", "timing listeners"),
    ("recorder/notifier.py", "notifier dispatch"),
    ("recorder/persistence/statements.py", "op preparation: SQL params, JSON"),
    ("recorder/persistence/encoding.py", "op preparation: SQL params, JSON"),
    ("recorder/persistence/sql.py", "op preparation: SQL params, JSON"),
    ("recorder/persistence/writer.py", "hand-over to the writer"),
    ("recorder/storage_fetch.py", "engine (state changes, events, arguments)"),
    ("recorder/storage_api.py", "engine (state changes, events, arguments)"),
    ("recorder/persistence/ops.py", "storage: ops, folding, undo"),
    ("recorder/storage", "storage: ops, folding, undo"),
    ("recorder/undo.py", "storage: ops, folding, undo"),
    ("recorder/engines/", "engine (state changes, events, arguments)"),
)


def part_of(filename: str) -> str | None:
    for prefix, part in PARTS:
        if prefix in filename:
            return part
    return None


@contextmanager
def gc_timer() -> Iterator[list[float]]:
    """Seconds spent in garbage collection while the block runs (any thread)."""
    spent = [0.0]
    started: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            spent[0] += time.perf_counter() - started.pop()

    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)


def writer_cpu(backend: Any) -> list[float]:
    """Wrap the backend's applier so the writer thread's CPU seconds are summed."""
    applier = backend._writer._applier
    real = applier.apply
    total = [0.0]

    def apply(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return real(*args, **kwargs)
        finally:
            total[0] += time.thread_time() - started

    applier.apply = apply
    return total


def threads_and_gc(url: str, size: int, repeat: int) -> dict[str, float]:
    from recorder.persistence import connect

    backend = connect(url, mode="batched")
    try:
        written = writer_cpu(backend)
        run_recorded(backend, size)
        best: dict[str, float] = {}
        for _ in range(repeat):
            written[0] = 0.0
            with gc_timer() as collecting:
                started = time.thread_time()
                run_recorded(backend, size)
                engine_thread = time.thread_time() - started
            figures = {"engine": engine_thread, "writer": written[0], "gc": collecting[0]}
            if not best or figures["engine"] + figures["writer"] < best["engine"] + best["writer"]:
                best = figures
        return {key: value / size * 1e6 for key, value in best.items()}
    finally:
        backend.close()


def min_thread_us(run: Callable[[], Any], size: int, repeat: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeat):
        started = time.thread_time()
        run()
        best = min(best, time.thread_time() - started)
    return best / size * 1e6


def parts(url: str, size: int) -> dict[str, float]:
    """Engine-thread seconds per part (cProfile, GC off), builtins given to their caller."""
    from recorder.persistence import connect

    backend = connect(url, mode="batched")
    try:
        run_recorded(backend, size)
        profile = cProfile.Profile(time.thread_time)  # CPU: not the wait in flush()
        gc.collect()
        gc.disable()
        try:
            profile.enable()
            run_recorded(backend, size)
            profile.disable()
        finally:
            gc.enable()
    finally:
        backend.close()
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    for func, (_cc, _nc, own, _cum, callers) in stats.items():
        part = part_of(func[0])
        if part is not None:
            shares[part] = shares.get(part, 0.0) + own
            continue
        # A builtin or library function: its time goes to the part of the recorder
        # code that called it (through library callers, up to a few levels).
        for caller, (_c, _n, from_caller, _cu) in callers.items():
            found = _caller_part(stats, caller, 4)
            shares[found] = shares.get(found, 0.0) + from_caller
    return shares


def _caller_part(stats: dict[Any, Any], func: Any, depth: int) -> str:
    part = part_of(func[0])
    if part is not None:
        return part
    callers = stats.get(func, (0, 0, 0, 0, {}))[4]
    if depth == 0 or not callers:
        return "the bench itself, library code"
    heaviest = max(callers.items(), key=lambda item: item[1][2])[0]
    return _caller_part(stats, heaviest, depth - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    size, repeat = args.tasks, args.repeat
    with open("/proc/loadavg") as load:
        print("load average: %s" % " ".join(load.read().split()[:3]))
    print("recording path: %s" % describe_build())
    engine_alone = min_thread_us(lambda: run_engine_alone(size), size, repeat)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgres"):
            with fresh_db(kind, tmp) as url:
                if url is None:
                    print("\n%s: no PostgreSQL server, skipped" % kind)
                    continue
                txns, _summary = capture_one(url, "batched", size)
                figures = threads_and_gc(url, size, repeat)
                shares = parts(url, size)
            floor, floor_cpu = replay_us(kind, tmp, txns, size, repeat)
            recording = figures["engine"] - engine_alone
            print("\n%s batched, %d tasks, full recording (CPU us/task):" % (kind, size))
            print(
                "  engine thread %7.1f = engine alone %.1f + recording %.1f"
                % (figures["engine"], engine_alone, recording)
            )
            print(
                "  writer thread %7.1f   (raw replay of its statements: %.1f CPU, %.1f wall)"
                % (figures["writer"], floor_cpu, floor)
            )
            print("  garbage collection, both threads: %.1f" % figures["gc"])
            print("  the engine thread's time by part (cProfile shares):")
            total = sum(shares.values())
            for part, seconds in sorted(shares.items(), key=lambda item: -item[1]):
                print("    %-44s %5.1f%%" % (part, 100 * seconds / total))


if __name__ == "__main__":
    main()
