"""Instructions per task of full recording, counted by valgrind: figures that hold still.

Wall and CPU times on a shared machine drift by 10-30% between runs, so a change of
a few percent cannot be told from noise in them. Counted instructions can: this
bench runs each configuration in a child process under valgrind's cachegrind
(``--cache-sim=no``) twice, with a 1,000-task and a 2,000-task linear flow, and
prints the difference per task, so start-up, imports and migrations cancel out.
Counts repeat to about 0.5% (``PYTHONHASHSEED=0``; uuids still differ per run).

Configurations (SQLite, batched unless said; the writer held back until the flush,
so its commits fall in the counted run whatever the timing): ``full`` (the trail and
``record()``), ``durable``, ``no listeners``, ``no trail`` (``record()`` then keeps
its history lists), ``neither`` (the engine's direct write path), ``engine alone``,
and the raw-driver replay of the full run's statements (captured outside valgrind;
a child that only loads them and migrates a fresh file is subtracted); and the flat
models of the same facts (``recording_floor.py``, ``recording_contract.py``,
``recording_guarantees.py``), so recorder's layers can be told from what any
recorder keeping its promises must run. Instructions
are not time -- recorder's code runs fewer instructions per microsecond than the
engine's tight loop -- so read the ratios here beside ``bench_recording.py``'s.

Needs valgrind (``apt-get install valgrind``); a run takes a few minutes.

    .venv/bin/python bench/recording_instructions.py [--tasks 1000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from recording_contract import record_contract
from recording_floor import record_floor
from recording_guarantees import record_guaranteed
from recording_runs import (
    capture_one,
    describe_build,
    fresh_db,
    replay_fresh,
    run_engine_alone,
    run_recorded,
)

_HELD = {"flush_interval": 3600.0, "batch_size": 10**6, "queue_size": 10**7}
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
CONFIGS = {
    "full": ("batched", True, None),
    "durable": ("durable", True, None),
    "no listeners": ("batched", False, None),
    "no trail": ("batched", True, False),
    "neither": ("batched", False, False),
}
MODELS = {
    "flat floor": record_floor,
    "contract's shape": record_contract,
    "guarantees kept flat": record_guaranteed,
}


def _child(config: str, size: int, txns_file: str | None) -> None:
    """One counted run (in the child, under valgrind)."""
    from recorder.persistence import connect, migrate

    tmp = tempfile.mkdtemp()
    if config == "engine alone":
        run_engine_alone(20)
        run_engine_alone(size)
        return
    if config in MODELS:
        MODELS[config](20)
        MODELS[config](size)
        return
    if config.startswith("replay"):
        assert txns_file is not None
        with open(txns_file, "rb") as handle:
            txns = pickle.load(handle)  # the parent's own capture
        if config == "replay":
            replay_fresh("sqlite", tmp, txns)
        else:  # "replay load": what the replay child does besides replaying
            migrate.upgrade("sqlite:///%s/load.db" % tmp)
        return
    mode, listeners, trail = CONFIGS[config]
    url = "sqlite:///%s/run.db" % tmp
    migrate.upgrade(url)
    backend = connect(url, mode=mode, **(_HELD if mode == "batched" else {}))  # type: ignore[arg-type]
    try:
        run_recorded(backend, 20, listeners=listeners, trail=trail)  # warm
        run_recorded(backend, size, listeners=listeners, trail=trail)
    finally:
        backend.close()


def _count(config: str, size: int, txns_file: str | None = None) -> int:
    """Instructions of one child run under valgrind."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        config,
        "--tasks",
        str(size),
    ]
    if txns_file is not None:
        command += ["--txns", txns_file]
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit("valgrind run of %r failed: %s" % (config, done.stderr[-500:]))
    return int(found.group(1).replace(",", ""))


def _per_task(config: str, size: int, files: dict[int, str] | None = None) -> float:
    """Instructions per task: the 2x-size run minus the 1x-size run, over ``size``."""
    small = _count(config, size, files[size] if files else None)
    large = _count(config, 2 * size, files[2 * size] if files else None)
    return (large - small) / size


def _captured(size: int, directory: str) -> dict[int, str]:
    """The statements a full batched run of ``size`` and ``2 * size`` tasks sends,
    captured here (outside valgrind), pickled for the replay children."""
    files: dict[int, str] = {}
    for tasks in (size, 2 * size):
        with fresh_db("sqlite", directory) as url:
            assert url is not None
            txns, _ = capture_one(url, "batched", tasks)
        path = Path(directory, "txns-%d.pickle" % tasks)
        path.write_bytes(pickle.dumps(txns))
        files[tasks] = str(path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--child")
    parser.add_argument("--txns")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.tasks, args.txns)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: apt-get install valgrind")
    size = args.tasks
    figures = {config: _per_task(config, size) for config in [*CONFIGS, "engine alone", *MODELS]}
    with tempfile.TemporaryDirectory() as directory:
        files = _captured(size, directory)
        replayed = _per_task("replay", size, files) - _per_task("replay load", size, files)
    print(
        f"recording path: {describe_build()}\n"
        f"instructions per task (valgrind; the {2 * size:,}-task run minus the {size:,}-task run):"
    )
    for config, count in figures.items():
        print("  %-28s %8.1fk" % (config, count / 1000))
    print("  %-28s %8.1fk" % ("raw replay of the full run", replayed / 1000))
    full, engine = figures["full"], figures["engine alone"]
    print("parts (full minus the run without it):")
    print("  %-28s %8.1fk" % ("listeners", (full - figures["no listeners"]) / 1000))
    print("  %-28s %8.1fk" % ("trail", (full - figures["no trail"]) / 1000))
    print("  %-28s %8.1fk" % ("recording, all of it", (full - engine) / 1000))
    print(
        "full / (engine alone + replay): %.2fx in instructions (compare bench_recording.py's "
        "wall ratio)" % (full / (engine + replayed))
    )
    kept = figures["guarantees kept flat"]
    print(
        "(engine alone + guarantees kept flat + replay) / (engine alone + replay): %.2fx;"
        " recorder's layers beyond that model (full - engine - model - replay): %.1fk"
        % (
            (engine + kept + replayed) / (engine + replayed),
            (full - engine - kept - replayed) / 1000,
        )
    )


if __name__ == "__main__":
    main()
