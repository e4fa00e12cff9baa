"""The reading commands through click's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.cli import main
from recorder.render.tabular import CSV_COLUMNS
from tests.query.runs import record_demo, running_flow


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def assert_fits(output: str) -> None:
    too_wide = [line for line in output.splitlines() if len(line) > 80]
    assert not too_wide, too_wide


def assert_one_line_error(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_flows_lists_newest_first_and_pages(db_url: str) -> None:
    uuids = [record_demo(db_url, fails=i % 2 == 0) for i in range(3)]
    result = cli(db_url, "flows", "--limit", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # The table fits; the last line is a command to paste, never wrapped.
    assert_fits("\n".join(lines[:-1]))
    assert lines[-1].startswith("more: recorder --db ")
    assert lines[0].split() == ["UUID", "NAME", "STATE", "CREATED", "(UTC)", "TOOK"]
    assert lines[2].startswith(uuids[2][:8]) and lines[3].startswith(uuids[1][:8])
    token = re.search(r"--after (\S+)", result.stdout)
    assert token is not None
    rest = cli(db_url, "flows", "--limit", "2", "--after", token.group(1), "--json")
    data = json.loads(rest.stdout)
    assert data["format"] == "recorder.flows/1" and data["next"] is None
    assert [f["uuid"] for f in data["flows"]] == [uuids[0]]
    states = json.loads(cli(db_url, "flows", "--state", "SUCCESS", "--json").stdout)
    assert [f["uuid"] for f in states["flows"]] == [uuids[1]]


def test_show_and_timeline_in_every_format(db_url: str, tmp_path: Path) -> None:
    uuid = record_demo(db_url)
    show = cli(db_url, "show", "order-fulfilment")
    assert show.exit_code == 0, show.output
    assert_fits(show.stdout)
    assert uuid in show.stdout and "book-courier" in show.stdout
    flat = " ".join(show.stdout.split())  # failure lines wrap at 80 columns
    assert "book-courier attempt 1: CourierUnavailable: courier booking API returned 503" in flat
    assert "caused by ConnectionError: POST /bookings on the courier API: 503" in flat

    table = cli(db_url, "timeline", uuid[:8])
    assert table.exit_code == 0, table.output
    assert_fits(table.stdout)
    quote_rows = [
        line.split()
        for line in table.stdout.splitlines()
        if line[1:22].strip() == "fetch-shipping-quote"
    ]
    assert [(row[1], row[-1]) for row in quote_rows] == [
        ("1", "FAILURE,REVERTED"),
        ("2", "FAILURE,REVERTED"),
        ("3", "SUCCESS,REVERTED"),
    ]
    assert "critical path" in table.stdout

    data = json.loads(cli(db_url, "timeline", uuid, "--format", "json").stdout)
    assert data["format"] == "recorder.timeline/1" and data["flow"]["uuid"] == uuid
    assert data["source"] == "transitions" and len(data["failures"]) == 3
    assert data["critical_path"]["wall_s"] == pytest.approx(data["duration_s"])

    rows = list(csv.reader(io.StringIO(cli(db_url, "timeline", uuid, "--format", "csv").stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    phases = sum(len(a["phases"]) for atom in data["atoms"] for a in atom["attempts"])
    assert len(rows) == 1 + phases
    assert {r[CSV_COLUMNS.index("phase")] for r in rows[1:]} == {"waiting", "running", "reverting"}

    page = tmp_path / "out" / "gantt.html"
    html = cli(db_url, "timeline", uuid, "--format", "html", "-o", str(page))
    assert html.exit_code == 0, html.output
    content = page.read_text("utf-8")
    assert "default-src 'none'" in content and "order-fulfilment" in content
    assert set(re.findall(r"https?://[^\s\"'<>]+", content)) <= {"http://www.w3.org/2000/svg"}


def test_stats_table_json_and_filters(db_url: str) -> None:
    record_demo(db_url)
    result = cli(db_url, "stats")
    assert result.exit_code == 0, result.output
    assert_fits(result.stdout)
    quote = next(line for line in result.stdout.splitlines() if line.startswith("fetch-ship"))
    assert quote.split()[1:4] == ["1", "2", "66.7"]
    data = json.loads(cli(db_url, "stats", "--name", "book-*", "--since", "1h", "--json").stdout)
    assert data["format"] == "recorder.stats/1"
    assert [(s["name"], s["failures"]) for s in data["stats"]] == [("book-courier", 1)]
    empty = cli(db_url, "stats", "--since", "2999-01-01")
    assert empty.exit_code == 0 and "no attempts recorded" in empty.stdout


def test_a_running_flow_shows_open_attempts(db_url: str) -> None:
    with running_flow(db_url, name="stuck-flow") as uuid:
        table = cli(db_url, "timeline", "stuck-flow")
        data = json.loads(cli(db_url, "timeline", uuid, "--format", "json").stdout)
    assert table.exit_code == 0, table.output
    gate = next(line for line in table.stdout.splitlines() if line[1:22].strip() == "gate")
    assert gate.split()[-1] == "RUNNING" and gate.split()[-3].endswith("+")  # RUN "6.6ms+"
    assert "still running (" in table.stdout and "(run still open)" in table.stdout
    assert data["open"] is True and data["ended_at"] is None
    (attempt,) = next(a for a in data["atoms"] if a["name"] == "gate")["attempts"]
    assert attempt["open"] is True and attempt["phases"][0]["ended_at"] is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "no-such-flow"], "no flow matches 'no-such-flow'"),
        (["timeline", "0000"], "no flow matches '0000'"),
        (["flows", "--since", "last tuesday"], "--since: cannot read 'last tuesday'"),
        (["stats", "--until", "2024-13-45"], "--until: cannot read '2024-13-45'"),
        (["flows", "--after", "garbage!"], "not a page token"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(db_url: str, args: list[str], expected: str) -> None:
    record_demo(db_url)
    line = assert_one_line_error(cli(db_url, *args))
    assert line.startswith("recorder: error: ") and expected in line


def test_an_ambiguous_prefix_lists_the_candidates(db_url: str) -> None:
    a = record_demo(db_url, uuid="feed0001-0000-4000-8000-000000000000")
    b = record_demo(db_url, uuid="feed0002-0000-4000-8000-000000000000")
    line = assert_one_line_error(cli(db_url, "show", "feed"))
    assert "matches 2 flows" in line and a in line and b in line


def test_no_schema_or_an_old_one_says_what_to_run(empty_db_url: str) -> None:
    from recorder.persistence import migrate

    line = assert_one_line_error(cli(empty_db_url, "flows"))
    assert "recorder db upgrade" in line
    migrate.upgrade(empty_db_url, "0001")
    line = assert_one_line_error(cli(empty_db_url, "show", "x"))
    assert "schema revision 0001" in line and "recorder db upgrade" in line


def test_an_unreachable_database_is_one_line() -> None:
    url = "postgresql://postgres@127.0.0.1:1/nothing"
    line = assert_one_line_error(cli(url, "flows"))
    assert "127.0.0.1" in line


def test_usage_errors_exit_1_not_2(sqlite_url: str) -> None:
    result = cli(sqlite_url, "flows", "--no-such-option")
    assert result.exit_code == 1
    assert cli(sqlite_url, "timeline").exit_code == 1  # FLOW missing
