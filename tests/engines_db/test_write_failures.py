"""A write that fails for good costs what docs/database.md says, and no more.

The database itself refuses the rows (a trigger, as a full disk would): durable
mode raises WriteFailed at that state change and keeps memory and the trail in
step with what was stored, so running the engine again continues cleanly;
batched mode stops at the first failed batch, so what is stored is a consistent
prefix that a new engine resumes from. Setting a flow up is one commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

import recorder
from recorder import engines
from recorder.exceptions import WriteFailed
from recorder.persistence import connect
from tests.support import crashflow
from tests.support.faults import allow_transitions, refuse_transitions
from tests.support.stored import assert_consistent

SIZE = 6
EXPECTED = crashflow.expected_results(SIZE)


def _executions(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize("refused_seq", [6, 7], ids=["at-a-start", "at-a-success"])
def test_durable_engine_run_again_after_a_failed_write_continues_the_trail(
    db_url: str, refused_seq: int
) -> None:
    engine = engines.load(crashflow.make_flow(SIZE), store={"seed": "x"}, backend=db_url)
    with recorder.record(engine):
        refuse_transitions(db_url, from_seq=refused_seq)
        try:
            with pytest.raises(WriteFailed, match="seq %d" % refused_seq):
                engine.run()
            stored = assert_consistent(db_url, engine.storage.flow_uuid)
            # Memory went back to what is stored, so a new run starts from there:
            # the refused state change and the meta the listeners merged into it.
            for name, atom in stored.atoms.items():
                assert engine.storage.get_atom_state(name) == atom.state
                assert engine.storage.get_atom_meta(name) == atom.meta
        finally:
            allow_transitions(db_url)
        engine.run()
    engine.close()
    final = assert_consistent(db_url, engine.storage.flow_uuid)
    assert final.state == "SUCCESS"
    assert {name: atom.results for name, atom in final.atoms.items()} == {
        key[:-4]: value for key, value in EXPECTED.items() if key != "seed"
    }


def test_batched_failure_leaves_a_prefix_a_new_engine_resumes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "ran.log"
    monkeypatch.setenv("CRASH_LOG", str(log))
    first = connect(db_url, mode="batched", flush_interval=0.001)
    engine = engines.load(crashflow.make_flow(SIZE), store={"seed": "x"}, backend=first)
    flow_uuid = engine.storage.flow_uuid
    refuse_transitions(db_url, from_seq=8)
    try:
        with recorder.record(engine), pytest.raises(WriteFailed, match="not stored"):
            engine.run()
        with pytest.raises(WriteFailed):  # the stopped backend keeps saying so
            first.close()
        stored = assert_consistent(db_url, flow_uuid)
    finally:
        allow_transitions(db_url)
    committed = {name for name, atom in stored.atoms.items() if atom.state == "SUCCESS"}
    assert stored.state == "RUNNING" and len(committed) == 3
    first_run = _executions(log)  # may have gone past what was stored

    backend = connect(db_url, mode="batched")
    resumed = engines.load(crashflow.make_flow(SIZE), backend=backend, flow_detail=flow_uuid)
    with recorder.record(resumed):
        resumed.run()
    backend.close()
    assert resumed.storage.fetch_all() == EXPECTED
    final = assert_consistent(db_url, flow_uuid)
    assert final.state == "SUCCESS"
    again = _executions(log)[len(first_run) :]
    assert first_run == sorted(first_run) and again == sorted(again)  # in flow order
    assert not committed & set(again)  # a stored SUCCESS never runs again
    assert set(again) == {"s%02d" % i for i in range(SIZE)} - committed


def test_setting_up_a_factory_flow_is_one_commit(db_url: str) -> None:
    backend = connect(db_url)
    commits: list[object] = []
    event.listen(backend.engine, "commit", commits.append)
    engine = engines.load_from_factory(
        crashflow.make_flow, factory_args=[SIZE], store={"seed": "x"}, backend=backend
    )
    assert len(commits) == 1
    stored = backend.load_flow(engine.storage.flow_uuid)
    backend.close()
    assert stored.meta["factory"] == {
        "name": "tests.support.crashflow.make_flow",
        "args": [SIZE],
        "kwargs": {},
    }
    assert stored.meta["store"] == {"seed": "x"} and len(stored.atoms) == SIZE
    assert engines.flow_from_detail(stored).name == crashflow.FLOW_NAME
