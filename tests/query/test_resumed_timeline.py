"""A flow whose process was killed and that was resumed: two runs on its timeline."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine

import recorder
from recorder import engines
from recorder.cli import main
from recorder.persistence import connect
from recorder.persistence.urls import normalize
from recorder.query import get_flow, load_report
from recorder.query.model import INTERRUPTED
from tests.support.crashflow import start_and_kill


def test_the_killed_run_is_interrupted_and_the_resumed_run_finishes(
    db_url: str, tmp_path: Path
) -> None:
    # s00 -> s01 -> s02, killed inside s01.
    flow_uuid = start_and_kill(db_url, tmp_path, size=3, crash_at="s01", record=True)
    time.sleep(0.05)  # the resumed run starts visibly later
    backend = connect(db_url)
    engine = engines.load_from_detail(backend.load_flow(flow_uuid), backend=backend)
    with recorder.record(engine):
        engine.run()
    backend.close()

    sql = create_engine(normalize(db_url))
    with sql.connect() as conn:
        report = load_report(conn, get_flow(conn, flow_uuid))
    sql.dispose()
    tl = report.timeline
    assert [r.end_state for r in tl.runs] == [INTERRUPTED, "SUCCESS"]
    killed, resumed = tl.runs
    assert killed.ended_at is not None and killed.ended_at < resumed.started_at
    lost, again = tl.atom("s01").attempts
    assert (lost.outcome, again.outcome) == (INTERRUPTED, "SUCCESS")
    assert lost.ended_at == killed.ended_at  # cut at the last thing recorded alive
    assert again.started_at is not None and again.started_at >= resumed.started_at
    assert [a.outcome for a in tl.atom("s00").attempts] == ["SUCCESS"]
    assert [a.outcome for a in tl.atom("s02").attempts] == ["SUCCESS"]
    assert report.critical_path is not None and report.critical_path.run == 2

    runner = CliRunner()
    shown = runner.invoke(main, ["--db", db_url, "timeline", flow_uuid])
    assert shown.exit_code == 0, shown.output
    assert "run 1:" in shown.stdout and "INTERRUPTED" in shown.stdout
    assert runner.invoke(main, ["--db", db_url, "verify", flow_uuid]).exit_code == 0
