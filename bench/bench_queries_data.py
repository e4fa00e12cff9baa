"""Fast loader for bench_queries.py: realistic recorder rows, written in bulk.

Flows look like real runs: ~45 atoms each, drawn from a pool of 60 atom names,
mostly RUNNING->SUCCESS, some failing once and retried (FAILURE, REVERTING,
REVERTED, PENDING, RUNNING, SUCCESS), some flows failing at the end and
reverting everything, a few still RUNNING. Each flow's rows are gap-free by
``seq`` and hash-chained like the recorder's (cheap hashes: the bench reads,
it does not verify). One extra flow has 1,000 atoms in parallel groups of 10.

SQLite gets executemany on the raw connection with the stored text forms;
PostgreSQL gets COPY. Both skip SQLAlchemy's per-row processing on purpose:
this is a loader, not the write path under test.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.engine import Engine

from recorder.persistence.coltypes import SQLITE_TIME_FORMAT

ATOM_NAMES = ["task-%02d" % i for i in range(60)]
FLOW_NAMES = ["pipeline-%02d" % i for i in range(20)]
BIG_FLOW = "big-pipeline"
START = datetime(2024, 10, 1, tzinfo=timezone.utc)

TRANSITION_COLUMNS = (
    "flow_uuid", "atom_uuid", "kind", "name", "old_state", "new_state", "at", "seq",
    "attempt", "details", "prev_hash", "hash",
)  # fmt: skip
ATOM_COLUMNS = (
    "uuid", "flow_uuid", "name", "kind", "state", "intention", "meta", "attempt", "created_at",
)  # fmt: skip
FLOW_COLUMNS = ("uuid", "logbook_uuid", "name", "state", "meta", "created_at", "updated_at")


@dataclass
class Batch:
    """Rows of some flows, ready for one bulk insert per table."""

    flows: list[tuple[Any, ...]] = field(default_factory=list)
    atoms: list[tuple[Any, ...]] = field(default_factory=list)
    transitions: list[tuple[Any, ...]] = field(default_factory=list)


class FlowWriter:
    """Builds one flow's rows: seq, attempts and a hash chain like the recorder's."""

    def __init__(self, batch: Batch, name: str, created: datetime, rng: random.Random) -> None:
        self.batch, self.rng = batch, rng
        self.uuid = self._new_uuid()
        self.name, self.created = name, created
        self.seq, self.prev = 0, "0" * 64
        self.atoms: dict[str, tuple[str, str, int]] = {}  # name -> (uuid, state, attempt)
        self.flow_state = "PENDING"

    def _new_uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def _row(self, kind: str, name: str, atom: str | None, old: str, new: str,
             at: datetime, attempt: int, details: dict[str, Any]) -> None:  # fmt: skip
        self.seq += 1
        digest = hashlib.sha256(
            ("%s:%d:%s" % (self.uuid, self.seq, self.prev)).encode()
        ).hexdigest()
        self.batch.transitions.append(
            (
                self.uuid,
                atom,
                kind,
                name,
                old,
                new,
                at,
                self.seq,
                attempt,
                json.dumps(details),
                self.prev,
                digest,
            )
        )
        self.prev = digest

    def flow(self, new: str, at: datetime) -> None:
        self._row("flow", self.name, None, self.flow_state, new, at, 0, {})
        self.flow_state = new

    def atom(
        self, name: str, new: str, at: datetime, details: dict[str, Any] | None = None
    ) -> None:
        known = self.atoms.get(name)
        uuid, old, attempt = known or (self._new_uuid(), "PENDING", 0)
        if new == "RUNNING":
            attempt += 1
        self._row("task", name, uuid, old, new, at, attempt, details or {})
        self.atoms[name] = (uuid, new, attempt)

    def finish(self, updated: datetime) -> None:
        self.batch.flows.append(
            (self.uuid, LOGBOOK, self.name, self.flow_state, "{}", self.created, updated)
        )
        for name, (uuid, state, attempt) in self.atoms.items():
            self.batch.atoms.append(
                (uuid, self.uuid, name, "task", state, "EXECUTE", "{}", attempt, self.created)
            )


LOGBOOK = "00000000-0000-4000-8000-00000000b00c"
FAILURE = {"failure": {"type": "TimeoutError", "message": "upstream timed out"}}
RESULT = {"result": {"type": "int", "repr": "1"}}


def _ms(rng: random.Random, mean: float) -> timedelta:
    return timedelta(microseconds=int(rng.expovariate(1 / mean) * 1000) + 50)


def normal_flow(batch: Batch, index: int, rng: random.Random, atoms: int) -> None:
    created = START + timedelta(seconds=index * 240 + rng.random())
    w = FlowWriter(batch, rng.choice(FLOW_NAMES), created, rng)
    now = created + timedelta(milliseconds=2)
    w.flow("RUNNING", now)
    names = rng.sample(ATOM_NAMES, atoms)
    done: list[str] = []
    for name in names:
        if rng.random() < 0.05:  # fails once, reverted, retried
            w.atom(name, "RUNNING", now)
            now += _ms(rng, 40)
            w.atom(name, "FAILURE", now, FAILURE)
            w.atom(name, "REVERTING", now + timedelta(microseconds=300))
            now += _ms(rng, 5)
            w.atom(name, "REVERTED", now, RESULT)
            now += _ms(rng, 20)
            w.atom(name, "PENDING", now)
        w.atom(name, "RUNNING", now)
        now += _ms(rng, 40)
        w.atom(name, "SUCCESS", now, RESULT)
        done.append(name)
        now += timedelta(microseconds=400)
    roll = rng.random()
    if roll < 0.03:  # a last step fails for good: it and what ran before are reverted
        w.atom("publish", "RUNNING", now)
        now += _ms(rng, 40)
        w.atom("publish", "FAILURE", now, FAILURE)
        for name in ["publish", *reversed(done[-10:])]:
            w.atom(name, "REVERTING", now)
            now += _ms(rng, 3)
            w.atom(name, "REVERTED", now, RESULT)
        w.flow("REVERTED", now)
    elif roll > 0.998:
        pass  # still running (or its process died): stays RUNNING
    else:
        w.flow("SUCCESS", now)
    w.finish(now)


def big_flow(batch: Batch, rng: random.Random, atoms: int = 1000) -> str:
    created = START + timedelta(days=40)
    w = FlowWriter(batch, BIG_FLOW, created, rng)
    now = created
    w.flow("RUNNING", now)
    for group in range(0, atoms, 10):
        names = ["big-%04d" % i for i in range(group, min(group + 10, atoms))]
        for name in names:
            w.atom(name, "RUNNING", now)
        ends = sorted((now + _ms(rng, 30), name) for name in names)
        for end, name in ends:
            w.atom(name, "SUCCESS", end, RESULT)
        now = ends[-1][0] + timedelta(microseconds=200)
    w.flow("SUCCESS", now)
    w.finish(now)
    return w.uuid


def batches(flows: int, atoms_per_flow: int, seed: int = 7, size: int = 500) -> Iterator[Batch]:
    rng = random.Random(seed)
    batch = Batch()
    for i in range(flows):
        normal_flow(batch, i, rng, atoms_per_flow)
        if len(batch.flows) >= size:
            yield batch
            batch = Batch()
    yield batch


def _sqlite_time(value: datetime) -> str:
    return value.strftime(SQLITE_TIME_FORMAT)


def load(engine: Engine, batch_iter: Iterator[Batch], big: Batch) -> int:
    """Insert everything; returns the number of transitions rows written."""
    raw = engine.raw_connection()
    total = 0
    try:
        cur = raw.cursor()
        created = START - timedelta(days=1)
        book = (
            "INSERT INTO recorder_logbooks (uuid, name, meta, created_at) "
            "VALUES (%s, 'bench', '{}', %s)"
        )
        if engine.dialect.name == "sqlite":
            cur.execute(book.replace("%s", "?"), (LOGBOOK, _sqlite_time(created)))
        else:
            cur.execute(book, (LOGBOOK, created))
        for batch in [*batch_iter, big]:
            total += len(batch.transitions)
            if engine.dialect.name == "sqlite":
                _sqlite_batch(cur, batch)
            else:
                _pg_batch(cur, batch)
        raw.commit()
    finally:
        raw.close()
    return total


def _sqlite_batch(cur: Any, batch: Batch) -> None:
    def insert(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        sql = "INSERT INTO %s (%s) VALUES (%s)" % (
            table, ", ".join(columns), ", ".join("?" * len(columns))
        )  # fmt: skip
        cur.executemany(
            sql, [tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in r) for r in rows]
        )

    insert("flow_details", FLOW_COLUMNS, batch.flows)
    insert("atom_details", ATOM_COLUMNS, batch.atoms)
    insert("transitions", TRANSITION_COLUMNS, batch.transitions)


def _pg_batch(cur: Any, batch: Batch) -> None:
    for table, columns, rows in (
        ("flow_details", FLOW_COLUMNS, batch.flows),
        ("atom_details", ATOM_COLUMNS, batch.atoms),
        ("transitions", TRANSITION_COLUMNS, batch.transitions),
    ):
        with cur.copy("COPY %s (%s) FROM STDIN" % (table, ", ".join(columns))) as copy:
            for row in rows:
                copy.write_row(row)
