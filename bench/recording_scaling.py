"""How full recording scales: threads, processes, the parallel engine, memory.

Run by ``bench_recording.py --concurrency --memory``; this file is also the child
that each measured process runs (``--child-run``, ``--child-replay``,
``--child-rss``).

Every group of child processes starts its timed work together: each child gets
ready (imports, connection, its data) and says so, and only when all have said
so are they told to go. Without that start line a fast child finishes before a
slow one has started, and "N processes at once" would measure fewer.

The eight-processes figure is printed twice: for recorder, and for the raw
replay of the same statements (eight flows captured beforehand, one per child,
sent on the bare driver). The second is what the database and the machine allow
any client: a share per process that the raw driver cannot keep, recorder
cannot keep either.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from recording_runs import (
    capture_one,
    fresh_db,
    one_recorded_run,
    run_engine_alone,
    run_recorded,
)
from replay import replay

ROWS_PER_TASK = 2  # transitions: RUNNING and SUCCESS


def started_together(commands: list[list[str]]) -> list[float]:
    """Run the child ``commands`` from one start line; each one's timed seconds."""
    children = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for command in commands
    ]
    for child in children:
        assert child.stdout is not None
        ready = child.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError("a bench child did not get ready: %r" % ready)
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    return [float(child.communicate()[0].split()[-1]) for child in children]


def _wait_for_go() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def _child(*args: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), *args]


# -- threads and processes ----------------------------------------------------------


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
        longest = max(started_together([_child("--child-run", url, str(size), "durable")] * flows))
    print(
        "  %-9s %d flows x %d tasks, %d threads on one durable backend: %.2f s, %d commits for"
        " %d writes (%.2f commits/write); %d processes from one start line: longest flow"
        " %.2f s; threads / processes %.2fx"
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
            longest,
            threaded / longest,
        )
    )


def parallel_vs_serial(tmp: str, size: int, repeat: int) -> None:
    """The parallel engine against the serial one, full recording, sqlite batched:
    ``repeat`` rounds, each running both back to back into fresh databases (as the
    main table's rounds do), and the median of the rounds' ratios."""
    _unordered_us(tmp, size, "serial"), _unordered_us(tmp, size, "parallel")  # warm up
    rounds = [
        (_unordered_us(tmp, size, "serial"), _unordered_us(tmp, size, "parallel"))
        for _ in range(repeat)
    ]
    print(
        "  parallel engine, full recording, sqlite batched, %d unordered tasks: serial %.1f, "
        "parallel %.1f us/task (%.2fx, the median of %d rounds' ratios)"
        % (
            size,
            statistics.median(serial for serial, _ in rounds),
            statistics.median(parallel for _, parallel in rounds),
            statistics.median(parallel / serial for serial, parallel in rounds),
            repeat,
        )
    )


def _unordered_us(tmp: str, size: int, engine: str) -> float:
    """Wall microseconds per task of one fully recorded unordered flow on ``engine``."""
    wall, _ = one_recorded_run("sqlite", tmp, "batched", size, engine, "unordered")
    return wall / size * 1e6


def pg_processes(tmp: str, size: int, procs: int) -> None:
    """``procs`` processes, one flow each, on one PostgreSQL database: recorder's, and the
    raw replay's, transitions/s per process against a lone process's."""
    rows_per_flow = ROWS_PER_TASK * size + 4  # and the flow's own moves
    with fresh_db("postgres", tmp) as url:
        if url is None:
            return
        recorder_run = _child("--child-run", url, str(size), "batched")
        alone = [started_together([recorder_run])[0] for _ in range(3)]
        together = started_together([recorder_run] * procs)
    _print_share("recorder", procs, size, rows_per_flow, alone, together)
    files = _captured_flows(tmp, size, 3 + procs)
    with fresh_db("postgres", tmp) as url:
        assert url is not None
        alone = [started_together([_child("--child-replay", f, url)])[0] for f in files[:3]]
        together = started_together([_child("--child-replay", f, url) for f in files[3:]])
    _print_share("raw replay", procs, size, rows_per_flow, alone, together)


def _captured_flows(tmp: str, size: int, count: int) -> list[str]:
    """``count`` flows' statements, as recorder sent them (each its own uuids), pickled."""
    files = []
    for index in range(count):
        with fresh_db("postgres", tmp) as url:
            assert url is not None
            txns, _ = capture_one(url, "batched", size)
        path = os.path.join(tmp, "flow-%d.pickle" % index)
        with open(path, "wb") as out:
            pickle.dump(txns, out)
        files.append(path)
    return files


def _print_share(
    label: str, procs: int, size: int, rows: int, alone: list[float], together: list[float]
) -> None:
    one = rows / statistics.median(alone)
    each = statistics.mean(rows / seconds for seconds in together)
    print(
        "  postgres batched, %-10s %d processes x %d tasks: %.0f transitions/s each (one"
        " process alone %.0f: %.0f%%), aggregate %.0f rows/s"
        % (label, procs, size, each, one, 100 * each / one, procs * rows / max(together))
    )


# -- memory -----------------------------------------------------------------------


def memory(tmp: str, size: int) -> None:
    with fresh_db("sqlite", tmp) as url:
        assert url is not None
        figures = []
        for n in (size // 2, size):
            alone = _peak_rss_child(n, False, url)
            recorded = _peak_rss_child(n, True, url)
            figures.append((n, alone, recorded))
    for n, alone, recorded in figures:
        print(
            "  %7d tasks: peak RSS growth engine alone %.1f MiB, recorded batched %.1f MiB: "
            "%.0f bytes/task beyond the engine's"
            % (n, alone / 2**20, recorded / 2**20, (recorded - alone) / n)
        )


def _peak_rss_child(size: int, recorded: bool, url: str) -> int:
    out = subprocess.run(
        _child("--child-rss", str(size), "1" if recorded else "0", url),
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


def _status_kib(field: str) -> int:
    """A size this process's /proc status gives (VmRSS: now; VmHWM: its peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/self/status" % field)


# -- the children -------------------------------------------------------------------


def child_run(url: str, size: int, mode: str) -> None:
    from recorder.persistence import connect

    with connect(url, mode=mode) as backend:
        _wait_for_go()
        started = time.perf_counter()
        run_recorded(backend, size)
        print(time.perf_counter() - started)


def child_replay(path: str, url: str) -> None:
    with open(path, "rb") as captured:
        txns = pickle.load(captured)
    _wait_for_go()
    print(replay(url, txns)[0])


def child_rss(size: int, recorded: bool, url: str) -> None:
    from recorder import engines, record  # noqa: F401  (loaded before "before", in both children)
    from recorder.persistence import connect

    backend = connect(url, mode="batched") if recorded else None
    # The resident size before the flow is built (its atoms are the engine's own, in both
    # children): not the peak so far, which start-up may have set above what a small
    # flow ever reaches.
    before = _status_kib("VmRSS")
    if backend is not None:
        run_recorded(backend, size)
    else:
        run_engine_alone(size)
    # VmHWM, not getrusage's ru_maxrss: on Linux a child started by (v)fork and exec
    # inherits its parent's peak in ru_maxrss, and the bench's own process is large
    # by the time it measures memory (every child then printed the parent's peak).
    after = _status_kib("VmHWM")
    print((after - before) * 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child-run", nargs=3, metavar=("URL", "TASKS", "MODE"))
    parser.add_argument("--child-replay", nargs=2, metavar=("PICKLE", "URL"))
    parser.add_argument("--child-rss", nargs=3, metavar=("TASKS", "RECORDED", "URL"))
    args = parser.parse_args()
    if args.child_run:
        url, size, mode = args.child_run
        child_run(url, int(size), mode)
    elif args.child_replay:
        child_replay(*args.child_replay)
    elif args.child_rss:
        size, recorded, url = args.child_rss
        child_rss(int(size), recorded == "1", url)
    else:
        parser.error("this is the bench's child; run bench_recording.py --concurrency")


if __name__ == "__main__":
    main()
