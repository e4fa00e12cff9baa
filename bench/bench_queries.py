"""Query-layer speed on a big database: SQLite and PostgreSQL side by side.

Loads 10,000 flows (about 1,000,000 transitions rows, ``--scale`` shrinks
both) plus one flow of 1,000 atoms, then times what the CLI does:

* ``timeline``  -- ``recorder timeline big-pipeline``: find the flow by name, read
  its atoms and ~2,000 transitions, rebuild the timeline, critical path and
  failures (target <= 50 ms);
* ``flows``     -- ``recorder flows``: the first page, newest first (<= 50 ms);
* ``stats``     -- ``recorder stats --name task-07``: one atom name over all
  runs (<= 1 s).

and prints the plan (EXPLAIN QUERY PLAN / EXPLAIN) of every SQL statement each
one ran, checking that each reads through an index.

    .venv/bin/python bench/bench_queries.py [--scale 1.0] [--no-pg] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_queries_data import BIG_FLOW, Batch, batches, big_flow, load
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from recorder.persistence import connect, migrate
from recorder.query import atom_stats, find_flow, list_flows, load_report

TARGETS = {"timeline": 0.050, "flows": 0.050, "stats": 1.0}
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def queries() -> dict[str, Callable[[Connection], Any]]:
    return {
        "timeline": lambda conn: load_report(conn, find_flow(conn, BIG_FLOW)),
        "flows": lambda conn: list_flows(conn, limit=20),
        "stats": lambda conn: atom_stats(conn, name="task-07"),
    }


@contextmanager
def sqlite_database(path: str | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(path) if path else Path(tmp) / "bench.db"
        file.unlink(missing_ok=True)
        yield "sqlite:///%s" % file


@contextmanager
def pg_database(admin_url: str, keep: bool) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql")
    name = "recorder_bench_%d" % os.getpid()
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s" % name)
        conn.execute("CREATE DATABASE %s" % name)
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def fill(url: str, flows: int, atoms: int) -> None:
    migrate.upgrade(url)
    backend = connect(url)
    try:
        started = time.perf_counter()
        rows = load(backend.engine, batches(flows, atoms), big_batch())
        took = time.perf_counter() - started
        with backend.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print("  loaded %d flows, %d transitions in %.1f s" % (flows + 1, rows, took))
    finally:
        backend.close()


def big_batch() -> Batch:
    import random

    batch = Batch()
    big_flow(batch, random.Random(1))
    return batch


def measure(engine: Engine, repeat: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for name, query in queries().items():
            query(conn)  # warm the caches once, as a second CLI call would find them
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                query(conn)
                runs.append(time.perf_counter() - started)
            timings[name] = runs
    return timings


def captured(engine: Engine, query: Callable[[Connection], Any]) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that ``query`` sent to the driver."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with engine.connect() as conn:
            query(conn)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def explain(engine: Engine) -> bool:
    """Print every statement's plan; True when each one reads through an index."""
    all_ok = True
    sqlite = engine.dialect.name == "sqlite"
    for name, query in queries().items():
        for statement, params in captured(engine, query):
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                cur.execute(prefix + statement, params)
                plan = [" ".join(str(c) for c in row[-1:]) for row in cur.fetchall()]
            finally:
                raw.close()
            uses = [p for p in plan if "INDEX" in p.upper() or "PRIMARY KEY" in p.upper()]
            full = [p for p in plan if _full_scan(p, sqlite)]
            ok = bool(uses) and not full
            all_ok &= ok
            first = " ".join(statement.split())[:90]
            print("  [%s] %s %s..." % ("index" if ok else "NO INDEX", name, first))
            for line in plan:
                print("      " + line)
    return all_ok


def _full_scan(line: str, sqlite: bool) -> bool:
    if sqlite:
        words = line.split()
        return len(words) == 2 and words[0] == "SCAN" and words[1] in _TABLES
    return "Seq Scan on" in line and any(t in line for t in _TABLES)


_TABLES = ("transitions", "flow_details", "atom_details", "t", "f", "a")


def run_one(label: str, url: str, flows: int, atoms: int, repeat: int) -> dict[str, float]:
    print("%s:" % label)
    fill(url, flows, atoms)
    backend = connect(url)
    try:
        timings = measure(backend.engine, repeat)
        indexed = explain(backend.engine)
    finally:
        backend.close()
    print("  every statement uses an index: %s" % ("yes" if indexed else "NO"))
    return {name: statistics.median(runs) for name, runs in timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 10,000 flows, ~1M rows")
    parser.add_argument("--atoms", type=int, default=45, help="atoms per ordinary flow")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sqlite-path", help="keep the SQLite database at this path")
    parser.add_argument("--pg-url", default=os.environ.get("RECORDER_BENCH_PG", PG_DEFAULT))
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args(argv)
    flows = max(10, int(10_000 * args.scale))
    results: dict[str, dict[str, float]] = {}
    with sqlite_database(args.sqlite_path) as url:
        results["sqlite"] = run_one("SQLite", url, flows, args.atoms, args.repeat)
    if not args.no_pg:
        with pg_database(args.pg_url, args.keep) as url:
            results["postgresql"] = run_one("PostgreSQL", url, flows, args.atoms, args.repeat)
    print()
    print("median of %d runs (%d flows)   %s   target" % (
        args.repeat, flows + 1, "   ".join("%10s" % db for db in results)))  # fmt: skip
    failed = False
    for name, target in TARGETS.items():
        cells = []
        for db in results:
            value = results[db][name]
            failed |= value > target
            cells.append("%8.1f ms" % (value * 1000))
        print("%-32s %s   <= %d ms" % (name, "   ".join(cells), target * 1000))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
