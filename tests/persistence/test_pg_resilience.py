"""PostgreSQL connections killed under the writer (pg_terminate_backend).

The rule under test: a lost connection is a transient error. The writer drops
the connection, reconnects and runs the whole transaction again (safe because
every op is idempotent); a write that was acknowledged -- durable write()
returned, or batched flush() returned -- is in the database. Only when the
database stays unreachable for ``retry_for`` seconds does WriteFailed surface.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from recorder.exceptions import WriteFailed
from recorder.persistence import connect
from recorder.persistence.ops import UpdateFlow
from tests.persistence.helpers import Flow, later

pytestmark = pytest.mark.postgres


def _kill_connections(pg_url: str) -> int:
    """Terminate every connection to the test database; returns how many."""
    url = make_url(pg_url)
    with psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchall()
    return len(rows)


def test_durable_writer_reconnects_after_its_connection_is_killed(pg_url: str) -> None:
    backend = connect(pg_url, mode="durable")
    flow = Flow(backend, atoms=("a",))
    backend.write([flow.transition(None, "PENDING", "RUNNING", 0)])
    assert _kill_connections(pg_url) >= 1
    backend.write([flow.transition("a", "PENDING", "RUNNING", 1, attempt=1)])  # must not raise
    assert backend.stats.reconnects >= 1
    assert [t.seq for t in backend.load_transitions(flow.uuid)] == [0, 1]
    backend.close()


@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_nothing_acknowledged_is_lost_while_connections_keep_dying(pg_url: str, mode: str) -> None:
    backend = connect(pg_url, mode=mode, flush_interval=0.002, batch_size=50)
    flow = Flow(backend, atoms=("a",))
    backend.flush()
    stop = threading.Event()
    kills = 0

    def killer() -> None:
        nonlocal kills
        while not stop.is_set():
            kills += _kill_connections(pg_url)
            time.sleep(0.03)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        acknowledged = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            backend.write([flow.transition("a", "PENDING", "RUNNING", acknowledged)])
            acknowledged += 1
        backend.flush()
    finally:
        stop.set()
        thread.join()
    assert kills > 0 and backend.stats.reconnects > 0
    seqs = [t.seq for t in backend.load_transitions(flow.uuid)]
    assert seqs == list(range(acknowledged))
    backend.close()


def test_a_database_gone_for_good_ends_in_write_failed(pg_url: str) -> None:
    backend = connect(pg_url, mode="durable", retry_for=1.0)
    flow = Flow(backend, atoms=("a",))
    url = make_url(pg_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
    ) as admin:
        admin.execute('ALTER DATABASE "%s" WITH allow_connections false' % url.database)
        try:
            _kill_connections(pg_url)
            started = time.monotonic()
            with pytest.raises(WriteFailed, match="after retrying"):
                backend.write([UpdateFlow(flow.uuid, later(), state="RUNNING")])
            assert 0.9 < time.monotonic() - started < 10
        finally:
            admin.execute('ALTER DATABASE "%s" WITH allow_connections true' % url.database)
    backend.write([UpdateFlow(flow.uuid, later(), state="RUNNING")])  # back again
    assert backend.load_flow(flow.uuid).state == "RUNNING"
    backend.close()
