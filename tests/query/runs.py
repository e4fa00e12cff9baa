"""Fill databases with real engine runs (recorded with ``recorder.record``) for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

import recorder
from recorder import demo, engines, task
from recorder.flow import Flow
from recorder.patterns import linear_flow
from recorder.persistence.models import FlowDetail


def record(
    url: str,
    flow: Flow,
    store: Mapping[str, Any] | None = None,
    *,
    engine: str = "serial",
    uuid: str | None = None,
) -> str:
    """Run ``flow`` recorded into ``url``; return its flow uuid (a failed run is fine)."""
    detail = FlowDetail(name=flow.name, state="PENDING")
    if uuid is not None:
        detail.uuid = uuid
    eng = engines.load(flow, store=store, engine=engine, backend=url, flow_detail=detail)
    try:
        with recorder.record(eng), suppress(Exception):
            eng.run()
    finally:
        eng.close()
    return eng.storage.flow_uuid


def record_demo(
    url: str, *, fails: bool = True, speed: float = 50.0, uuid: str | None = None
) -> str:
    """recorder.demo's order flow (parallel section, retried flaky task, failing courier)."""
    return record(
        url,
        demo.build(speed, courier_fails=fails),
        demo.STORE,
        engine="parallel",
        uuid=uuid,
    )


class Gate(task.Task):
    """Blocks in execute until ``release`` is set (a flow caught mid-run)."""

    def __init__(self, entered: threading.Event, release: threading.Event, **kw: Any) -> None:
        super().__init__(**kw)
        self.entered, self.release = entered, release

    def execute(self) -> str:
        self.entered.set()
        if not self.release.wait(30):
            raise TimeoutError("the test never released the gate")
        return "released"


class Quick(task.Task):
    def execute(self) -> str:
        time.sleep(0.002)
        return self.name


@contextmanager
def running_flow(url: str, name: str = "stuck") -> Iterator[str]:
    """A flow whose 'gate' atom is RUNNING (committed) until the block ends."""
    entered, release = threading.Event(), threading.Event()
    flow = linear_flow.Flow(name).add(
        Quick(name="before"), Gate(entered, release, name="gate"), Quick(name="after")
    )
    eng = engines.load(flow, backend=url)
    rec = recorder.record(eng)
    rec.register()
    thread = threading.Thread(target=eng.run, daemon=True)
    thread.start()
    try:
        if not entered.wait(30):
            raise TimeoutError("the flow never reached its gate")
        yield eng.storage.flow_uuid
    finally:
        release.set()
        thread.join(30)
        rec.deregister()
        eng.close()
