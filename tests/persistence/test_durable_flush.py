"""A durable flush waits for the writes submitted before it, not for quiet.

Registering a flow's trail flushes the backend; when other threads share that
durable backend and write all the time, a flush that waited until no write was
pending or being committed would wait for all of them to finish.
"""

from __future__ import annotations

import threading
import time

from recorder.persistence import connect
from tests.persistence.helpers import Flow, transitions_of


def test_durable_flush_returns_while_other_threads_keep_writing(sqlite_url: str) -> None:
    backend = connect(sqlite_url, mode="durable")
    stop = threading.Event()
    flows = [Flow(backend, atoms=("a",), name="busy%d" % i) for i in range(4)]

    def keep_writing(flow: Flow) -> None:
        i = 0
        while not stop.is_set():
            backend.write([flow.transition("a", "PENDING", "RUNNING", i)])
            i += 1

    threads = [threading.Thread(target=keep_writing, args=(flow,)) for flow in flows]
    mine = Flow(backend, atoms=("a",), name="mine")
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # the busy writers are going
        waits = []
        for i in range(10):
            backend.write([mine.transition("a", "PENDING", "RUNNING", i)])
            started = time.monotonic()
            backend.flush()
            waits.append(time.monotonic() - started)
        busy = not stop.is_set()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    try:
        assert busy
        assert max(waits) < 1.0, waits
        assert [t.seq for t in transitions_of(backend, mine.uuid)] == list(range(10))
        assert all(transitions_of(backend, flow.uuid) for flow in flows)
    finally:
        backend.close()
