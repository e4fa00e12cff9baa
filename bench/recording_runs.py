"""The runs the recording benches share: the flow, a recorded run, the engine alone, a
fresh database, the capture of what recorder sends (``bench_recording.py``,
``recording_scaling.py``, ``recording_profile.py``)."""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from gc_watch import collected_heap
from replay import Capture, Txn, replay
from scratch import scratch_pg


def noop_flow(size: int, pattern: str = "linear") -> Any:
    from recorder import task
    from recorder.patterns import linear_flow, unordered_flow

    class Noop(task.Task):
        def execute(self) -> int:
            return 1

    module = linear_flow if pattern == "linear" else unordered_flow
    return module.Flow("bench").add(*(Noop("t%d" % i) for i in range(size)))


def run_recorded(
    backend: Any,
    size: int,
    engine: str = "serial",
    pattern: str = "linear",
    *,
    listeners: bool = True,
    trail: bool | None = None,
) -> None:
    """Load and run one fully recorded flow on ``backend``, then flush it.

    ``listeners=False``: without ``record()``; ``trail=False``: an engine without its
    transitions trail (what ``recording_removal.py`` takes away)."""
    from recorder import engines, record

    loaded = engines.load(noop_flow(size, pattern), backend=backend, engine=engine, trail=trail)
    if listeners:
        with record(loaded):
            loaded.run()
    else:
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
    with scratch_pg() as pg_url:
        yield pg_url


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


def replay_fresh(kind: str, tmp: str, txns: list[Txn]) -> tuple[float, float]:
    """(wall, CPU) seconds of replaying ``txns`` into a fresh migrated database."""
    with fresh_db(kind, tmp) as url:
        assert url is not None
        return replay(url, txns)


def replay_us(kind: str, tmp: str, txns: list[Txn], size: int, repeat: int) -> tuple[float, float]:
    timed = [replay_fresh(kind, tmp, txns) for _ in range(repeat)]
    return (
        statistics.median(wall for wall, _ in timed) / size * 1e6,
        statistics.median(cpu for _, cpu in timed) / size * 1e6,
    )


def one_recorded_run(
    kind: str, tmp: str, mode: str, size: int, engine: str = "serial", pattern: str = "linear"
) -> tuple[float, float]:
    """(wall, CPU) seconds of recording one flow into a fresh migrated database, as
    each replay runs: a database that earlier runs grew makes the same statements
    dearer (WAL checkpoints, deeper indexes), and the ratio must compare like with
    like. Connecting is not timed (nor is it in the replay), and the timed run starts
    on a collected heap (:func:`gc_watch.collected_heap`)."""
    from recorder.persistence import connect

    with fresh_db(kind, tmp) as url:
        assert url is not None
        backend = connect(url, mode=mode)
        try:
            collected_heap()
            started, cpu = time.perf_counter(), time.process_time()
            run_recorded(backend, size, engine, pattern)
            return time.perf_counter() - started, time.process_time() - cpu
        finally:
            backend.close()


def one_timed(run: Callable[[], Any]) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - started, time.process_time() - cpu


def describe_build() -> str:
    """Which build of the recording path a bench measures (see recorder/compiled.py)."""
    from recorder.compiled import is_compiled

    if is_compiled():
        return "compiled (mypyc; scripts/compile --clean for plain Python)"
    return "plain Python (scripts/compile for the compiled build)"
