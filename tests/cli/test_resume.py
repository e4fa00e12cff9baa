"""``recorder resume FLOW``: continue a stored run from the database alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import recorder
from recorder import engines
from recorder.audit import verify_flow
from recorder.cli import main
from recorder.persistence import connect
from tests.cli import resumable


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def failed_run(url: str) -> str:
    """A recorded checkout whose 'charge' failed: the flow ended REVERTED."""
    with connect(url) as backend:
        engine = engines.load_from_factory(
            resumable.checkout, store={"order": "o-1"}, backend=backend
        )
        with recorder.record(engine), pytest.raises(ConnectionError):
            engine.run()
        return engine.storage.flow_uuid


def test_resume_reruns_a_reverted_flow_once_the_cause_is_fixed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = tmp_path / "fixed"
    monkeypatch.setenv("RESUME_FIX", str(fix))
    resumable.RUNS.clear()
    uuid = failed_run(db_url)

    still_down = cli(db_url, "resume", uuid[:8])
    assert still_down.exit_code == 1
    assert "flow checkout ended in REVERTED: ConnectionError: payment service down" in (
        still_down.stderr
    )

    fix.touch()
    result = cli(db_url, "resume", "checkout")
    assert result.exit_code == 0, result.output
    assert "resuming checkout (%s) from REVERTED" % uuid in result.stdout
    assert result.stdout.rstrip().endswith("is SUCCESS")
    with connect(db_url) as backend:
        stored = backend.load_flow(uuid)
        assert {n: a.results for n, a in stored.atoms.items()} == {
            "reserve": "reserve:o-1",
            "charge": "charge:o-1",
            "ship": "ship:o-1",
        }
        assert stored.atoms["charge"].attempt == 3  # failed, failed on resume, then ran
        verified = verify_flow(backend, uuid)
    assert verified.ok  # the resumed runs continued the same hash chain

    again = cli(db_url, "resume", uuid)
    assert again.exit_code == 0 and "already ended in SUCCESS" in again.stdout


def test_resume_needs_a_recorded_factory(db_url: str) -> None:
    with connect(db_url) as backend:
        engine = engines.load(resumable.checkout(), store={"order": "o"}, backend=backend)
        uuid = engine.storage.flow_uuid
    result = cli(db_url, "resume", uuid)
    assert result.exit_code == 1
    assert "was not loaded from a factory" in result.stderr
    assert "Traceback" not in result.output


def test_resume_of_an_unknown_flow(db_url: str) -> None:
    result = cli(db_url, "resume", "no-such-flow")
    assert result.exit_code == 1
    assert result.stderr.startswith("recorder: error: ")


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        ({"name": "tests.cli.resumable:checkout", "args": [1, 2], "kwargs": {}}, "TypeError"),
        ({"name": "tests.cli.resumable:checkout", "args": "ab", "kwargs": {}}, "args"),
        ({"name": "tests.cli.resumable:checkout", "args": [], "kwargs": [1]}, "kwargs"),
        ({"name": "tests.cli.resumable:broken", "args": [], "kwargs": {}}, "config file"),
    ],
)
def test_a_factory_that_cannot_rebuild_the_flow_is_one_line(
    db_url: str, factory: dict[str, object], expected: str
) -> None:
    with connect(db_url) as backend:
        engine = engines.load(resumable.checkout(), store={"order": "o"}, backend=backend)
        engine.storage.update_flow_metadata({"factory": factory})
        uuid = engine.storage.flow_uuid
    result = cli(db_url, "resume", uuid)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("recorder: error: "), lines
    assert "resumable:" in lines[0] and expected in lines[0], lines[0]
