"""A flow whose process was killed and that was resumed: two runs on its timeline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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

HERE = Path(__file__).resolve().parent


def kill_mid_flow(url: str, tmp_path: Path) -> str:
    mark = tmp_path / "mark"
    env = {**os.environ, "CRASHY_MARK": str(mark)}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    child = subprocess.Popen(
        [sys.executable, "-m", "crashy", url], env=env, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    flow_uuid = child.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not mark.exists():
        assert child.poll() is None and time.monotonic() < deadline, "never reached 'slow'"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    return flow_uuid


def test_the_killed_run_is_interrupted_and_the_resumed_run_finishes(
    db_url: str, tmp_path: Path
) -> None:
    flow_uuid = kill_mid_flow(db_url, tmp_path)
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
    lost, again = tl.atom("slow").attempts
    assert (lost.outcome, again.outcome) == (INTERRUPTED, "SUCCESS")
    assert lost.ended_at == killed.ended_at  # cut at the last thing recorded alive
    assert again.started_at is not None and again.started_at >= resumed.started_at
    assert [a.outcome for a in tl.atom("first").attempts] == ["SUCCESS"]
    assert [a.outcome for a in tl.atom("last").attempts] == ["SUCCESS"]
    assert report.critical_path is not None and report.critical_path.run == 2

    runner = CliRunner()
    shown = runner.invoke(main, ["--db", db_url, "timeline", flow_uuid])
    assert shown.exit_code == 0, shown.output
    assert "run 1:" in shown.stdout and "INTERRUPTED" in shown.stdout
    assert runner.invoke(main, ["--db", db_url, "verify", flow_uuid]).exit_code == 0
