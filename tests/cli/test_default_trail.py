"""The transitions trail is on by default for an engine loaded with a database.

A program ported from TaskFlow loads its engine with a database URL and never
calls ``recorder.record``: it still gets a verifying, hash-chained trail.
``trail=False`` opts out, and every reader of such a flow says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import recorder
from recorder import engines, states
from recorder.audit import verify_flow
from recorder.cli import main
from recorder.exceptions import InvalidArgument
from recorder.listeners.recording import TransitionRecorder, recorder_for
from recorder.patterns import linear_flow
from recorder.persistence import connect
from recorder.persistence.rows import TRAIL_META_KEY
from tests.cli import resumable


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def checkout_run(url: str, trail: bool | None = None) -> str:
    """The checkout flow, loaded as a TaskFlow program would load it; 'charge' fails."""
    engine = engines.load_from_factory(
        resumable.checkout, store={"order": "o-1"}, backend=url, trail=trail
    )
    try:
        with pytest.raises(ConnectionError):
            engine.run()
    finally:
        engine.close()
    return engine.storage.flow_uuid


def test_a_ported_taskflow_program_writes_a_verifying_trail(db_url: str) -> None:
    uuid = checkout_run(db_url)  # no recorder.record(engine)
    with connect(db_url) as backend:
        rows = backend.load_transitions(uuid)
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert rows[0].kind == "flow" and rows[0].old_state == states.PENDING
        assert any(r.name == "charge" and r.new_state == states.FAILURE for r in rows)
        result = verify_flow(backend, uuid)
        assert result.ok and result.checked == len(rows)
        assert backend.load_flow(uuid).meta[TRAIL_META_KEY] is True
    out = cli(db_url, "verify")
    assert out.exit_code == 0 and "have no trail" not in out.stdout
    timeline = cli(db_url, "timeline", uuid)
    assert "source: transitions" in timeline.stdout
    assert "ConnectionError: payment service down" in timeline.stdout  # not "?"
    stats = cli(db_url, "stats")
    assert "charge" in stats.stdout and "without a transitions trail" not in stats.stdout


def test_trail_false_writes_none_and_the_cli_says_so(db_url: str) -> None:
    checkout_run(db_url)  # one flow with a trail beside it
    uuid = checkout_run(db_url, trail=False)
    with connect(db_url) as backend:
        assert backend.load_transitions(uuid) == []
        assert backend.load_flow(uuid).meta[TRAIL_META_KEY] is False
        assert not verify_flow(backend, uuid).has_trail

    timeline = cli(db_url, "timeline", uuid)
    assert timeline.exit_code == 0, timeline.output
    assert "source: meta (no transitions trail read: this timeline is rebuilt" in (timeline.stdout)
    assert "unknown: " in timeline.stdout
    data = json.loads(cli(db_url, "timeline", uuid, "--format", "json").stdout)
    assert data["source"] == "meta" and data["unknown"]

    stats = cli(db_url, "stats")
    assert stats.exit_code == 0, stats.output
    # reserve and charge ran in the untracked flow (ship never started).
    assert stats.stdout.rstrip().endswith(
        "1 flow(s) without a transitions trail are not counted (2 atom(s) that ran)"
    )
    assert json.loads(cli(db_url, "stats", "--json").stdout)["without_trail"] == {
        "flows": 1,
        "atoms": 2,
    }
    only_ship = json.loads(cli(db_url, "stats", "--name", "ship", "--json").stdout)
    assert only_ship["without_trail"] == {"flows": 0, "atoms": 0}

    verify = cli(db_url, "verify")
    assert verify.exit_code == 0, verify.output
    assert verify.stdout.startswith("ok: 2 flow(s), ")
    assert verify.stdout.rstrip().endswith("; 1 flow(s) have no trail")


def test_record_reuses_the_default_trail_and_adds_the_timing_meta(db_url: str) -> None:
    with connect(db_url) as backend:
        engine = engines.load_from_factory(
            resumable.checkout, store={"order": "o-1"}, backend=backend
        )
        default = recorder_for(engine.storage)
        assert default is not None and default.registered
        with pytest.raises(InvalidArgument, match="already has a TransitionRecorder"):
            TransitionRecorder(engine).register()  # the protection stays
        with recorder.record(engine) as rec, pytest.raises(ConnectionError):
            assert rec.transitions is default
            engine.run()
        assert recorder_for(engine.storage) is default  # record() leaves it attached
        uuid = engine.storage.flow_uuid
        rows = backend.load_transitions(uuid)
        seqs = [r.seq for r in rows]
        assert seqs == list(range(1, len(rows) + 1))  # each row once
        assert verify_flow(backend, uuid).ok
        charge = backend.load_flow(uuid).atoms["charge"].meta
        assert "duration" in charge and "FAILURE-timestamp" in charge
        assert "durations" not in charge  # the history is in the trail


def test_resume_continues_the_default_chain(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = tmp_path / "fixed"
    monkeypatch.setenv("RESUME_FIX", str(fix))
    uuid = checkout_run(db_url)
    with connect(db_url) as backend:
        first = len(backend.load_transitions(uuid))
    fix.touch()
    result = cli(db_url, "resume", uuid)
    assert result.exit_code == 0, result.output
    assert "no transitions trail" not in result.output
    with connect(db_url) as backend:
        rows = backend.load_transitions(uuid)
        assert len(rows) > first and rows[first].prev_hash == rows[first - 1].hash
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert verify_flow(backend, uuid).ok
    assert cli(db_url, "verify", uuid).exit_code == 0


def test_a_flow_opted_out_stays_without_a_trail_when_resumed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = tmp_path / "fixed"
    monkeypatch.setenv("RESUME_FIX", str(fix))
    uuid = checkout_run(db_url, trail=False)
    fix.touch()
    result = cli(db_url, "resume", uuid)
    assert result.exit_code == 0, result.output
    assert "has no transitions trail (loaded with trail=False)" in result.stdout
    with connect(db_url) as backend:
        assert backend.load_transitions(uuid) == []
        assert backend.load_flow(uuid).state == states.SUCCESS
    verify = cli(db_url, "verify")
    assert verify.exit_code == 0 and "; 1 flow(s) have no trail" in verify.stdout


def test_a_trail_started_midway_verifies(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = tmp_path / "fixed"
    monkeypatch.setenv("RESUME_FIX", str(fix))
    uuid = checkout_run(db_url, trail=False)  # charge failed, all reverted: no rows
    fix.touch()
    with connect(db_url) as backend:
        engine = engines.load_from_detail(backend.load_flow(uuid), backend=backend, trail=True)
        engine.run()
        rows = backend.load_transitions(uuid)
        assert rows[0].seq == 1
        first_flow_row = next(r for r in rows if r.kind == "flow")
        assert first_flow_row.old_state not in states.UNSTARTED_STATES  # after the start
        result = verify_flow(backend, uuid)
        assert result.ok and result.has_trail
        assert backend.load_flow(uuid).meta[TRAIL_META_KEY] is True
    assert cli(db_url, "verify", uuid).exit_code == 0


def test_a_flow_with_a_trail_cannot_continue_without_one(db_url: str) -> None:
    uuid = checkout_run(db_url)
    with (
        connect(db_url) as backend,
        pytest.raises(InvalidArgument, match="has a transitions trail"),
    ):
        engines.load_from_detail(backend.load_flow(uuid), backend=backend, trail=False)


def test_engines_without_a_backend_are_unchanged() -> None:
    engine = engines.load(linear_flow.Flow("f").add(resumable.Step("reserve")), {"order": "o"})
    assert recorder_for(engine.storage) is None
    with pytest.raises(InvalidArgument, match="needs a backend"):
        engines.load(linear_flow.Flow("g").add(resumable.Step("reserve")), trail=True)


def test_taskflow_connection_mapping_gets_the_trail_too(db_url: str) -> None:
    engine = engines.load_from_factory(
        resumable.checkout, store={"order": "o-1"}, backend={"connection": db_url}
    )
    try:
        with pytest.raises(ConnectionError):
            engine.run()
    finally:
        engine.close()
    result = verify_flow(db_url, engine.storage.flow_uuid)
    assert result.ok and result.has_trail and result.checked > 0
