"""The rough edges a new user hit (issue 14), each held by a test."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from recorder import task
from recorder.cli import main
from recorder.patterns import linear_flow
from recorder.persistence import coexist
from recorder.render.text import fmt_duration
from tests.query.runs import record, record_demo
from tests.support.crashflow import resume_in_child, start_and_kill

ROOT = Path(__file__).resolve().parents[2]


def cli(url: str | None, *args: str, env: dict[str, str] | None = None) -> Result:
    prefix = ["--db", url] if url else []
    return CliRunner().invoke(main, [*prefix, *args], env=env)


def one_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output, result.output
    return result.stderr


def test_the_more_line_pastes_as_printed_with_db_filters_and_limit(sqlite_url: str) -> None:
    uuids = [record_demo(sqlite_url, fails=i % 2 == 0, speed=400) for i in range(7)]
    first = cli(sqlite_url, "flows", "--state", "REVERTED", "--limit", "2", "--since", "1h")
    more = first.stdout.splitlines()[-1]
    assert more.startswith("more: recorder --db %s flows " % sqlite_url), more
    assert more.endswith(first.stdout.splitlines()[-1].split()[-1])
    words = shlex.split(more[len("more: ") :])[1:]  # as a shell would pass them
    second = CliRunner().invoke(main, words)
    assert second.exit_code == 0, second.output
    listed = [line.split()[0] for line in second.stdout.splitlines()[2:]]
    # Page 2 of the REVERTED flows, two a page, in the same window.
    every = json.loads(cli(sqlite_url, "flows", "--state", "REVERTED", "--json").stdout)
    assert len(every["flows"]) == 4 and set(uuids[0::2]) == {f["uuid"] for f in every["flows"]}
    assert listed[:2] == [f["uuid"][:8] for f in every["flows"]][2:4]
    assert "--limit 2" in more and "--state REVERTED" in more and "--since 20" in more


def test_show_marks_the_critical_path_it_names(sqlite_url: str) -> None:
    uuid = record_demo(sqlite_url, speed=200)
    out = cli(sqlite_url, "show", uuid).stdout
    assert "critical path (* above)" in out
    marked = {line[1:].split()[0] for line in out.splitlines() if line.startswith("*")}
    path = json.loads(cli(sqlite_url, "show", uuid, "--json").stdout)["critical_path"]
    assert marked == {s["atom"] for s in path["steps"] if s["phase"] == "running"}
    assert marked  # the demo's path runs through tasks


def test_took_means_the_same_in_flows_timeline_and_json(db_url: str) -> None:
    uuid = record_demo(db_url, speed=200)
    timeline = json.loads(cli(db_url, "timeline", uuid, "--format", "json").stdout)
    listed = json.loads(cli(db_url, "flows", "--json").stdout)["flows"][0]
    assert listed["uuid"] == uuid and listed["duration_s"] == timeline["duration_s"]
    row = cli(db_url, "flows").stdout.splitlines()[2]
    assert row.split()[-1] == fmt_duration(timeline["duration_s"])
    assert "took %s" % fmt_duration(timeline["duration_s"]) in cli(db_url, "show", uuid).stdout


def test_idle_is_not_called_waiting_and_stats_say_fail_is_per_try(
    sqlite_url: str, tmp_path: Path
) -> None:
    uuid = record_demo(sqlite_url, speed=200)
    shown = cli(sqlite_url, "show", uuid).stdout
    assert "+ idle " in shown and "+ waiting" not in shown
    written = tmp_path / "page.html"
    assert cli(sqlite_url, "timeline", uuid, "--format", "html", "-o", str(written)).exit_code == 0
    page = written.read_text("utf-8")
    section = page[page.index('<section id="critical-path">') :]
    assert "idle " in section[: section.index("</section>")]
    assert "waiting for retry" in page  # the legend keeps the word for retry waits
    stats = cli(sqlite_url, "stats").stdout
    assert stats.splitlines()[0].split()[:4] == ["ATOM", "RUNS", "RETRIES", "TRY"]
    assert "TRY FAIL% is per attempt" in " ".join(stats.split())


def test_an_interrupted_attempt_has_an_unknown_run_time(sqlite_url: str, tmp_path: Path) -> None:
    uuid = start_and_kill(sqlite_url, tmp_path, size=5, crash_at="s02", record=True)
    resume_in_child(sqlite_url, uuid, "durable", tmp_path)
    lines = cli(sqlite_url, "timeline", uuid).stdout.splitlines()
    (s02,) = [line for line in lines if line.split()[:2] == ["s02", "1"]]
    assert "INTERRUPTED" in s02 and "unknown" in s02 and "0us" not in s02


class Fails(task.Task):
    def execute(self) -> None:
        raise RuntimeError("the-eu-central-warehouse-reservation-service-said-no " * 2)


def test_wrapped_names_keep_their_hyphens_and_tables_use_the_terminal(sqlite_url: str) -> None:
    name = "reserve-warehouse-stock-in-the-eu-central-region-for-order"
    flow = linear_flow.Flow("a-flow-name-of-quite-some-length-that-is-cut-at-80").add(Fails(name))
    record(sqlite_url, flow)
    shown = cli(sqlite_url, "show", flow.name).stdout
    failure = shown[shown.index("failures:") :].splitlines()[1]
    assert name in failure  # wrapped at spaces, never at the name's hyphens
    assert all(len(line) <= 80 for line in shown.splitlines())
    assert flow.name not in cli(sqlite_url, "flows").stdout  # cut at 80 columns
    wide = cli(sqlite_url, "flows", env={"COLUMNS": "132"}).stdout
    assert flow.name in wide and max(len(line) for line in wide.splitlines()) <= 132
    timeline = cli(sqlite_url, "timeline", flow.name, env={"COLUMNS": "132"}).stdout
    assert any(
        line.startswith("*" + name) or line.startswith(" " + name) for line in timeline.splitlines()
    )


def test_a_missing_or_wrong_postgres_driver_is_one_line_naming_the_install() -> None:
    program = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "from recorder.cli import main\n"
        "main(['--db', 'postgresql://postgres@127.0.0.1:1/none', 'flows'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'flow-recorder[postgres]'" in done.stderr
    wrong = one_line(cli("postgresql+psycopg2://postgres@127.0.0.1/x", "flows"))
    assert "psycopg 3" in wrong and "postgresql://" in wrong and "[postgres]" in wrong


def test_db_current_on_a_newer_schema_does_not_advise_upgrade(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE %s SET version_num = 'ffff'" % coexist.VERSION_TABLE))
    engine.dispose()
    out = cli(sqlite_url, "db", "current").stdout
    assert "newer than this recorder" in out and "db upgrade" not in out


def test_db_downgrade_on_a_missing_file_creates_nothing(sqlite_empty_url: str) -> None:
    assert "does not exist" in one_line(cli(sqlite_empty_url, "db", "downgrade", "base"))
    assert not Path(sqlite_empty_url[len("sqlite:///") :]).exists()


def test_a_bare_file_name_suggests_the_sqlite_url() -> None:
    assert "sqlite:///recorder.db" in one_line(cli("recorder.db", "flows"))


def test_generated_pages_are_git_ignored() -> None:
    patterns = [
        p.strip() for p in (ROOT / ".gitignore").read_text().splitlines() if p and p[0] != "#"
    ]
    for page in ("timeline-3f2a9c1d.html", "recorder-demo.html"):
        assert any(fnmatch.fnmatch(page, p) for p in patterns), page


def test_the_demo_names_the_recorder_it_ran(tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "recorder"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # as after ./scripts/demo: no venv on PATH
    env.pop("RECORDER_DATABASE_URL", None)
    done = subprocess.run(
        [str(binary), "demo", "--speed", "400"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    nexts = done.stdout[done.stdout.index("next:") :].splitlines()[1:]
    assert nexts and all(line.strip().startswith(str(binary) + " ") for line in nexts), nexts


def test_scripts_demo_installs_only_when_needed() -> None:
    script = (ROOT / "scripts" / "demo").read_text()
    guard = re.search(r"if (.+); then\n(.+?)\nfi", script, re.S)
    assert guard is not None and "pip install" in guard.group(2)
    assert "pyproject.toml -nt" in guard.group(1) and "pip install" not in script[guard.end() :]


def test_durable_commit_time_is_said_plainly() -> None:
    doc = " ".join((ROOT / "docs" / "database.md").read_text().split())
    assert "Durations include the commit in durable mode." in doc
    assert "in durable mode it includes one commit" in (ROOT / "docs" / "cli.md").read_text()


def test_compose_publishes_postgres_on_loopback_only() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    ports = re.findall(r'^\s+- "([^"]+:5432)"', compose, re.M)
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    assert "POSTGRES_PASSWORD: ${RECORDER_PG_PASSWORD:-" in compose


def test_missing_web_extra_names_the_install() -> None:
    program = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from recorder.cli import main\n"
        "main(['serve'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "recorder serve needs the web extra" in done.stderr
    assert "pip install 'flow-recorder[web]'" in done.stderr
