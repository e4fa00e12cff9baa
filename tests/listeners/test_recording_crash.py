"""SIGKILL a recorded flow mid-run, resume it in this process: the chain continues intact."""

from __future__ import annotations

from pathlib import Path

import pytest

import recorder
from recorder import engines, states
from recorder.audit import verify_flow
from recorder.persistence import connect
from tests.support.crashflow import start_and_kill


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["durable", "batched"])
def test_killed_recorded_flow_resumes_with_an_intact_chain(
    db_url: str, mode: str, tmp_path: Path
) -> None:
    # A batched writer gets 0.3 s to commit what came before the crash point.
    uuid = start_and_kill(
        db_url, tmp_path, mode=mode, size=5, crash_at="s02", record=True, grace=0.3
    )
    with connect(db_url, mode=mode) as backend:
        before = backend.load_transitions(uuid)
        assert verify_flow(backend, uuid).ok  # what the crash left is a valid prefix
        if mode == "durable":  # nothing the engine went on from was lost
            assert [(r.name, r.new_state) for r in before[-2:]] == [
                ("s01", states.SUCCESS),
                ("s02", states.RUNNING),
            ]
        engine = engines.load_from_detail(backend.load_flow(uuid), backend=backend)
        with recorder.record(engine):
            engine.run()
        rows = backend.load_transitions(uuid)
        result = verify_flow(backend, uuid)
    assert result.ok and result.checked == len(rows)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    resumed = [(r.kind, r.new_state) for r in rows[len(before) : len(before) + 3]]
    if before:  # the stored flow was RUNNING: listeners see it resume
        assert resumed == [("flow", "RESUMING"), ("flow", "SUSPENDED"), ("flow", "RUNNING")]
    else:  # batched mode may lose the whole (bounded) tail, here all of the run
        assert mode == "batched" and resumed[0] == ("flow", "RUNNING")
    assert rows[-1].kind == "flow" and rows[-1].new_state == states.SUCCESS
    s02 = [(r.new_state, r.attempt) for r in rows if r.name == "s02"]
    if (states.RUNNING, 1) in [(r.new_state, r.attempt) for r in before if r.name == "s02"]:
        assert s02[-1] == (states.SUCCESS, 2)  # the interrupted task ran again, as attempt 2
        rerun = [r for r in rows[len(before) :] if r.name == "s02" and r.attempt == 2]
        assert (rerun[0].old_state, rerun[0].new_state) == (states.RUNNING, states.RUNNING)
        assert rerun[0].details.get("resumed") is True  # the re-run's start is on the trail
