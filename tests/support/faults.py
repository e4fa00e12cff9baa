"""Real write failures for tests: a trigger in the database that refuses inserts.

A ``BEFORE INSERT`` trigger on ``transitions`` raises for rows matching a
condition, as a full disk or a broken constraint would: the database itself
refuses the transaction, nothing in the driver or in recorder is replaced.
:func:`refuse_transitions` installs it, :func:`allow_transitions` drops it;
:func:`execute` runs any other raw SQL a test needs on its own database.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text

from recorder.persistence import urls

FAULT = "injected fault: no space left on device"


def execute(url: str, *statements: str) -> None:
    """Run ``statements`` in one transaction on a test's own database."""
    engine = create_engine(urls.normalize(url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def refuse_transitions(url: str, from_seq: int) -> None:
    """Make every insert of a transitions row with ``seq >= from_seq`` fail."""
    if url.startswith("sqlite"):
        execute(
            url,
            "CREATE TRIGGER recorder_test_fault BEFORE INSERT ON transitions "
            "WHEN NEW.seq >= %d BEGIN SELECT RAISE(ABORT, '%s'); END" % (from_seq, FAULT),
        )
        return
    execute(
        url,
        "CREATE FUNCTION recorder_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.seq >= %d THEN RAISE EXCEPTION '%s'; END IF; RETURN NEW; END $$"
        % (from_seq, FAULT),
        "CREATE TRIGGER recorder_test_fault BEFORE INSERT ON transitions "
        "FOR EACH ROW EXECUTE FUNCTION recorder_test_fault()",
    )


def allow_transitions(url: str) -> None:
    """Drop the trigger :func:`refuse_transitions` installed."""
    if url.startswith("sqlite"):
        execute(url, "DROP TRIGGER IF EXISTS recorder_test_fault")
        return
    execute(
        url,
        "DROP TRIGGER IF EXISTS recorder_test_fault ON transitions",
        "DROP FUNCTION IF EXISTS recorder_test_fault()",
    )


def sessions(url: str) -> frozenset[int]:
    """The server processes connected to a PostgreSQL test database (none for SQLite)."""
    if url.startswith("sqlite"):
        return frozenset()
    engine = create_engine(urls.normalize(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return frozenset(int(pid) for (pid,) in rows)
    finally:
        engine.dispose()


def wait_until_gone(url: str, others: frozenset[int], timeout: float = 10.0) -> None:
    """Wait until only ``others`` (sessions that were there before) remain connected.

    A SIGKILLed client's last COMMIT may still be running on the server after
    the client died: a check or a resume started before it lands would read a
    prefix that then grows under it.
    """
    deadline = time.monotonic() + timeout
    while sessions(url) - others and time.monotonic() < deadline:
        time.sleep(0.01)
