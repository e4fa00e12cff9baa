"""The SQL write path, measured side by side in one run.

For a SQLite file and (when a server answers) a scratch PostgreSQL database:

* ``durable`` -- one op per ``write()``, committed before it returns: the
  latency the engine pays per state change;
* ``durable x4`` -- four threads writing at once (group commit: commits per op
  drop below 1);
* ``batched`` -- one op per ``write()``, background commits, then ``flush()``;
* ``raw executemany`` -- the same transition rows through the bare driver in one
  transaction: the floor; the ratio says how close the batched path gets;
* SQL statements and commits per op (statements counted with a SQLAlchemy
  ``before_cursor_execute`` listener; executemany counts once).

The op mix is what an engine writes per task: RUNNING (atom update + transition),
then SUCCESS (atom update with result and a meta merge + transition).

    .venv/bin/python bench/bench_write_path.py [--tasks 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from scratch import PG_ADMIN, scratch_pg
from sqlalchemy import event

from recorder.persistence import connect, migrate
from recorder.persistence.ops import (
    AppendTransition,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
)
from recorder.persistence.sql import SQLBackend
from recorder.persistence.statements import Prepared, Statements


def now() -> datetime:
    return datetime.now(timezone.utc)


def task_ops(flow: str, atoms: list[str], seq0: int = 0) -> list[Op]:
    """Four ops per task, as the engine writes them."""
    ops: list[Op] = []
    seq = seq0
    for index, atom in enumerate(atoms):
        name = "task-%d" % index
        ops.append(UpdateAtom(atom, now(), {"state": "RUNNING", "attempt": 1}))
        ops.append(
            AppendTransition(
                flow, atom, "task", name, "PENDING", "RUNNING", now(), seq, 1, {}, "", ""
            )
        )
        ops.append(
            UpdateAtom(
                atom,
                now(),
                {"state": "SUCCESS", "results": {"value": index}},
                {"duration": 0.001, "SUCCESS-timestamp": time.time()},
            )
        )
        ops.append(
            AppendTransition(
                flow,
                atom,
                "task",
                name,
                "RUNNING",
                "SUCCESS",
                now(),
                seq + 1,
                1,
                {"result": index},
                "",
                "",
            )
        )
        seq += 2
    return ops


def setup(backend: SQLBackend, tasks: int) -> tuple[str, list[str]]:
    book, flow = str(uuid.uuid4()), str(uuid.uuid4())
    atoms = [str(uuid.uuid4()) for _ in range(tasks)]
    backend.write(
        [
            SaveLogbook(book, "bench", {}, now()),
            SaveFlow(flow, book, "bench", "RUNNING", {}, now()),
            *(
                SaveAtom(a, flow, "task-%d" % i, "task", "PENDING", "EXECUTE", None, {}, now())
                for i, a in enumerate(atoms)
            ),
        ]
    )
    backend.flush()
    return flow, atoms


class Counter:
    def __init__(self, backend: SQLBackend) -> None:
        self.n = 0
        event.listen(backend.engine, "before_cursor_execute", self._hit)

    def _hit(self, *_: Any) -> None:
        self.n += 1


def measure(url: str, mode: str, tasks: int, threads: int = 1) -> dict[str, float]:
    backend = connect(url, mode=mode)
    flows = [setup(backend, tasks) for _ in range(threads)]
    counter = Counter(backend)
    commits0 = backend.stats.commits
    work = [task_ops(flow, atoms) for flow, atoms in flows]

    def run(ops: list[Op]) -> None:
        for op in ops:
            backend.write([op])

    started = time.perf_counter()
    if threads == 1:
        run(work[0])
    else:
        pool = [threading.Thread(target=run, args=(ops,)) for ops in work]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    backend.flush()
    elapsed = time.perf_counter() - started
    ops = sum(len(w) for w in work)
    result = {
        "ops": ops,
        "ops_s": ops / elapsed,
        "us_op": elapsed / ops * 1e6,
        "stmts_op": counter.n / ops,
        "commits_op": (backend.stats.commits - commits0) / ops,
    }
    backend.close()
    return result


def raw_executemany(url: str, tasks: int) -> dict[str, float]:
    """The same transition rows, one driver executemany in one transaction."""
    backend = connect(url)
    flow, atoms = setup(backend, tasks)
    statements = Statements(backend.dialect)
    rows = [
        p.params
        for p in statements.prepare(
            op for op in task_ops(flow, atoms) if isinstance(op, AppendTransition)
        )
        if isinstance(p, Prepared)  # (every one: transitions)
    ]
    sql = statements.sql("transitions")
    raw = backend.engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        if backend.dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(sql, rows)
        raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
        backend.close()
    return {"ops": len(rows), "ops_s": len(rows) / elapsed, "us_op": elapsed / len(rows) * 1e6}


def report(label: str, tasks: int, url: str) -> None:
    durable = measure(url, "durable", tasks)
    grouped = measure(url, "durable", tasks // 4 or 1, threads=4)
    batched = measure(url, "batched", tasks)
    raw = raw_executemany(url, tasks)
    print("\n%s (%d tasks, 4 ops each)" % (label, tasks))
    print("  %-16s %10s %10s %10s %10s" % ("path", "ops/s", "us/op", "stmts/op", "commits/op"))
    for name, row in (("durable", durable), ("durable x4", grouped), ("batched", batched)):
        print(
            "  %-16s %10.0f %10.1f %10.3f %10.3f"
            % (name, row["ops_s"], row["us_op"], row["stmts_op"], row["commits_op"])
        )
    print(
        "  %-16s %10.0f %10.1f %10s %10s"
        % ("raw executemany", raw["ops_s"], raw["us_op"], "-", "1/batch")
    )
    print(
        "  raw executemany / batched: %.1fx   batched / durable: %.1fx"
        % (raw["ops_s"] / batched["ops_s"], batched["ops_s"] / durable["ops_s"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = "sqlite:///%s/bench.db" % tmp
        migrate.upgrade(url)
        report("SQLite file (WAL, synchronous=NORMAL)", args.tasks, url)
    with scratch_pg() as pg:
        if pg is None:
            print("\nPostgreSQL: no server at %s, skipped" % PG_ADMIN)
        else:
            report("PostgreSQL (scratch database)", args.tasks, pg)


if __name__ == "__main__":
    main()
