"""Batched mode keeps what it commits a consistent prefix of what was written.

A write (one ``backend.write`` call: an engine's state change, its audit row and
its listeners' meta) is never split across transactions, and once a batch fails
for good nothing written after it is committed: the writer stops and says, on
every later call, what was not stored.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import event, text

from recorder.exceptions import WriteFailed
from recorder.persistence import connect
from recorder.persistence.models import new_uuid
from recorder.persistence.ops import SaveFlow, UpdateAtom, UpdateFlow
from recorder.persistence.sql import SQLBackend
from tests.persistence.helpers import Flow, at, later
from tests.support.faults import FAULT, allow_transitions, refuse_transitions


def _seqs(backend: SQLBackend, flow: Flow) -> list[int]:
    return [t.seq for t in backend.load_transitions(flow.uuid)]


def test_a_failed_batch_commits_the_writes_before_it_and_nothing_after(db_url: str) -> None:
    backend = connect(db_url, mode="batched", flush_interval=10.0)
    flow = Flow(backend, atoms=("a",))
    backend.flush()
    backend.write(
        [
            UpdateFlow(flow.uuid, later(), state="RUNNING"),
            flow.transition(None, "PENDING", "RUNNING", 1),
        ]
    )
    backend.write(
        [
            SaveFlow(new_uuid(), new_uuid(), "orphan", None, {}, at()),  # FK violation
            flow.transition("a", "PENDING", "RUNNING", 2),
        ]
    )
    backend.write([flow.transition("a", "RUNNING", "SUCCESS", 3)])
    with pytest.raises(WriteFailed) as caught:
        backend.flush()
    error = caught.value
    assert error.unstored_writes == 2 and error.unstored_ops == 3
    assert error.first_unstored_seq == {flow.uuid: 1}
    assert "seq 1 of flow %s" % flow.uuid in str(error) and "\n" not in str(error)
    # The writer stays stopped: every later call says so, nothing more lands.
    with pytest.raises(WriteFailed, match="not stored"):
        backend.write([flow.transition("a", "RUNNING", "SUCCESS", 4)])
    with pytest.raises(WriteFailed, match="not stored"):
        backend.flush()
    with pytest.raises(WriteFailed, match="not stored"):
        backend.close()
    reader = connect(db_url)
    try:
        assert _seqs(reader, flow) == [0]
        assert reader.load_flow(flow.uuid).state == "RUNNING"
    finally:
        reader.close()


def test_a_batch_refused_by_the_database_stops_later_commits(db_url: str) -> None:
    backend = connect(db_url, mode="batched", flush_interval=0.01)
    flow = Flow(backend, atoms=("a",))
    backend.flush()
    refuse_transitions(db_url, from_seq=2)
    try:
        failed: WriteFailed | None = None
        for seq in range(6):
            try:
                backend.write([flow.transition("a", "PENDING", "RUNNING", seq)])
            except WriteFailed as exc:
                failed = exc
                break
            time.sleep(0.05)  # each write in its own batch
        if failed is None:
            with pytest.raises(WriteFailed) as caught:
                backend.flush()
            failed = caught.value
        assert FAULT in str(failed) and failed.first_unstored_seq == {flow.uuid: 2}
    finally:
        allow_transitions(db_url)
    # The database accepts rows again; the stopped writer must still not write.
    with pytest.raises(WriteFailed):
        backend.write([flow.transition("a", "PENDING", "RUNNING", 9)])
    with pytest.raises(WriteFailed):
        backend.close()
    reader = connect(db_url)
    try:
        assert _seqs(reader, flow) == [0, 1]
    finally:
        reader.close()


def test_sqlite_locked_past_retry_for_commits_nothing_later(sqlite_url: str) -> None:
    backend = connect(
        sqlite_url, mode="batched", flush_interval=0.01, busy_timeout=0.05, retry_for=0.3
    )
    flow = Flow(backend, atoms=("a",))
    backend.flush()
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        backend.write([flow.transition("a", "PENDING", "RUNNING", 0)])
        with pytest.raises(WriteFailed, match="locked"):
            backend.flush()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with pytest.raises(WriteFailed, match="locked"):
        backend.write([flow.transition("a", "PENDING", "RUNNING", 1)])
    with pytest.raises(WriteFailed):
        backend.close()
    reader = connect(sqlite_url)
    try:
        assert _seqs(reader, flow) == []
    finally:
        reader.close()


class Transactions:
    """Per committed transaction: atoms updated and atoms whose transition was inserted."""

    def __init__(self, backend: SQLBackend) -> None:
        self.done: list[tuple[set[str], set[str]]] = []
        self._updated: set[str] = set()
        self._appended: set[str] = set()
        event.listen(backend.engine, "before_cursor_execute", self._statement)
        event.listen(backend.engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, sql: str, params: Any, *args: Any) -> None:
        rows = params if isinstance(params, list) else [params]
        for row in rows:
            if sql.startswith("UPDATE atom_details"):
                self._updated.add(row["b_uuid"])
            elif sql.startswith("INSERT INTO transitions"):
                self._appended.add(row["atom_uuid"])

    def _commit(self, conn: Any) -> None:
        if self._updated or self._appended:
            self.done.append((self._updated, self._appended))
        self._updated, self._appended = set(), set()


def test_a_write_is_never_split_across_transactions(db_url: str) -> None:
    names = tuple("a%d" % i for i in range(12))
    backend = connect(db_url, mode="batched", batch_size=2, flush_interval=0.001)
    flow = Flow(backend, atoms=names)
    backend.flush()
    seen = Transactions(backend)
    for i, name in enumerate(names):
        uuid = flow.atoms[name]
        backend.write(
            [
                UpdateAtom(uuid, later(), {"state": "RUNNING"}),
                flow.transition(name, "PENDING", "RUNNING", i),
                UpdateAtom(uuid, later(), {}, {"progress": 0.5}),
            ]
        )
    backend.close()
    assert seen.done, "no transaction was observed"
    for updated, appended in seen.done:
        assert updated == appended  # each atom's update and its audit row together
    assert sum(len(appended) for _, appended in seen.done) == len(names)
    reader = connect(db_url)
    try:
        with reader.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM transitions")).scalar_one()
        assert count == len(names)
    finally:
        reader.close()
