"""The write path's transactions, which run on the driver connection itself: SQLAlchemy's
events still hear each one, and SQLite's write lock is held from its start."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import event

from recorder.exceptions import WriteFailed
from recorder.persistence import connect
from recorder.persistence.models import new_uuid
from recorder.persistence.ops import SaveFlow, UpdateFlow
from recorder.persistence.sql import SQLBackend
from tests.persistence.helpers import Flow, at, later


class Heard:
    """The begin, commit and rollback events of one backend's engine, in order."""

    def __init__(self, backend: SQLBackend) -> None:
        self.events: list[str] = []
        for name in ("begin", "commit", "rollback"):
            event.listen(backend.engine, name, self._hearer(name))

    def _hearer(self, name: str) -> Any:
        return lambda _conn: self.events.append(name)


@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_sqlalchemy_events_hear_each_write_transaction(db_url: str, mode: str) -> None:
    backend = connect(db_url, mode=mode)
    heard = Heard(backend)
    try:
        flow = Flow(backend, atoms=("a",))  # one write
        backend.flush()
        for state in ("RUNNING", "SUCCESS"):
            backend.write([UpdateFlow(flow.uuid, later(), state=state)])
            backend.flush()
        assert heard.events == ["begin", "commit"] * 3
        assert backend.load_flow(flow.uuid).state == "SUCCESS"
    finally:
        backend.close()


def test_a_refused_write_is_heard_rolling_back_and_the_next_one_commits(db_url: str) -> None:
    backend = connect(db_url, mode="durable")
    heard = Heard(backend)
    try:
        flow = Flow(backend, atoms=("a",))
        with pytest.raises(WriteFailed):  # no such logbook: the foreign key refuses it
            backend.write([SaveFlow(new_uuid(), new_uuid(), "orphan", None, {}, at())])
        backend.write([UpdateFlow(flow.uuid, later(), state="RUNNING")])
        assert heard.events == ["begin", "commit", "begin", "rollback", "begin", "commit"]
        assert backend.load_flow(flow.uuid).state == "RUNNING"
    finally:
        backend.close()


def test_a_sqlite_write_transaction_holds_the_write_lock_from_its_start(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE, not a deferred BEGIN: two writers never deadlock upgrading
    read locks. Seen from a ``begin`` listener: another connection cannot start one."""
    backend = connect(sqlite_url, mode="durable")
    outcomes: list[str] = []

    def try_another_writer(_conn: Any) -> None:
        other = sqlite3.connect(sqlite_url.split("///", 1)[1], timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            outcomes.append("another writer got in")
        except sqlite3.OperationalError as exc:
            outcomes.append(str(exc))
        finally:
            other.close()

    try:
        flow = Flow(backend, atoms=("a",))
        event.listen(backend.engine, "begin", try_another_writer)
        backend.write([UpdateFlow(flow.uuid, later(), state="RUNNING")])
        assert outcomes == ["database is locked"]
        assert backend.load_flow(flow.uuid).state == "RUNNING"
    finally:
        backend.close()
