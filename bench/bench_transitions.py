"""Transitions rows per second: the batched write path vs the bare driver, one run.

The engine hands the backend one transition per ``write()`` call. This bench
writes N transition rows that way through a ``batched`` backend (then
``flush()``), and the same rows with one ``executemany`` on the bare driver in
one transaction (the floor: no encoding, no queue, no planning), on a SQLite
file and on PostgreSQL, and prints rows/s and the ratio.

    .venv/bin/python bench/bench_transitions.py [--rows 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

from scratch import scratch_pg

from recorder.persistence import connect, migrate
from recorder.persistence.ops import AppendTransition, SaveFlow, SaveLogbook
from recorder.persistence.sql import SQLBackend
from recorder.persistence.statements import Prepared, Statements

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_flow(backend: SQLBackend) -> str:
    flow, book = str(uuid.uuid4()), str(uuid.uuid4())
    backend.write(
        [SaveLogbook(book, "bench", {}, T0), SaveFlow(flow, book, "f", "RUNNING", {}, T0)]
    )
    backend.flush()
    return flow


def rows(flow: str, count: int) -> list[AppendTransition]:
    """Realistic rows: RUNNING then SUCCESS per task, with a result summary."""
    out = []
    for i in range(count):
        done = i % 2 == 1
        out.append(
            AppendTransition(
                flow_uuid=flow,
                atom_uuid=str(uuid.UUID(int=i // 2 + 1)),
                kind="task",
                name="task-%d" % (i // 2),
                old_state="RUNNING" if done else "PENDING",
                new_state="SUCCESS" if done else "RUNNING",
                at=T0 + timedelta(microseconds=i),
                seq=i + 1,
                attempt=1,
                details={"result": {"type": "int", "repr": "1"}} if done else {},
                prev_hash="%064x" % i,
                hash="%064x" % (i + 1),
            )
        )
    return out


def ours(backend: SQLBackend, count: int) -> float:
    ops = rows(new_flow(backend), count)
    start = time.perf_counter()
    for op in ops:
        backend.write([op])
    backend.flush()
    return count / (time.perf_counter() - start)


def raw(backend: SQLBackend, count: int) -> float:
    ops = rows(new_flow(backend), count)
    statements = Statements(backend.dialect)
    # Encoded beforehand, not timed (every op is a transition: a Prepared).
    params = [p.params for p in statements.prepare(ops) if isinstance(p, Prepared)]
    sql = statements.sql("transitions")
    with backend.engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        start = time.perf_counter()
        if backend.dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, params)
            cursor.execute("COMMIT")
        else:
            cursor.executemany(sql, params)
            dbapi.commit()
        return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("%-10s %16s %16s %8s" % ("database", "batched rows/s", "raw rows/s", "ratio"))
    with tempfile.TemporaryDirectory() as tmp, scratch_pg() as pg_url:
        targets = [("sqlite", "sqlite:///%s/bench.db" % tmp)]
        if pg_url:
            targets.append(("postgres", pg_url))
        for name, url in targets:
            migrate.upgrade(url)
            backend = connect(url, mode="batched")
            try:
                mine, floor = [], []
                for _ in range(args.rounds):  # interleaved, so drift hits both alike
                    mine.append(ours(backend, args.rows))
                    floor.append(raw(backend, args.rows))
            finally:
                backend.close()
            a, b = statistics.median(mine), statistics.median(floor)
            print("%-10s %16.0f %16.0f %7.0f%%" % (name, a, b, 100 * a / b))


if __name__ == "__main__":
    main()
