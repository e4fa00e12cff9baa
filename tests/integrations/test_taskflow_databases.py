"""Databases written by TaskFlow's own SQLAlchemy backend, read by recorder's reading
commands (SQLite and PostgreSQL), alone and beside recorder's schema."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from taskflow import engines
from taskflow.listeners import timing

from recorder.persistence import migrate
from tests.integrations import tfflows


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main_command(), ["--db", url, *args])


def main_command() -> Any:
    from recorder.cli import main

    return main


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write_with_taskflow(url: str) -> dict[str, str]:
    """Three runs on TaskFlow's backend, timed by TaskFlow's own listeners; name -> uuid."""
    backend = tfflows.tf_backend(url)
    uuids = {}
    for flow in (tfflows.retried(), tfflows.linear(), tfflows.reverted()):
        engine = engines.load(flow, backend=backend)
        listeners = timing.DurationListener(engine), timing.EventTimeListener(engine)
        with listeners[0], listeners[1], contextlib.suppress(ValueError):  # tf-reverted fails
            engine.run()
        uuids[flow.name] = str(engine.storage.flow_uuid)
    backend.close()
    return uuids


@pytest.mark.slow
def test_a_database_written_by_taskflow_reads_through_every_reading_command(
    empty_db_url: str,
) -> None:
    # One TaskFlow-written database for all the checks: TaskFlow's runs are slow.
    written = (empty_db_url, write_with_taskflow(empty_db_url))
    check_flows_lists_taskflow_runs(written)
    check_timeline_uses_meta_times_and_the_retry_history(written)
    check_show_tells_the_failure_and_its_reverts(written)
    check_stats_counts_attempts_and_failures_from_retries(written)
    check_export_otel_of_a_taskflow_flow(written)
    check_a_flow_is_found_as_in_recorders_database(written)
    check_beside_recorder_auto_reads_recorders_and_taskflow_on_request(written)  # last: migrates


def check_flows_lists_taskflow_runs(taskflow_url: tuple[str, dict[str, str]]) -> None:
    url, uuids = taskflow_url
    data = ok_json(cli(url, "flows", "--json"))
    got = {f["name"]: (f["uuid"], f["state"]) for f in data["flows"]}
    assert got == {
        "tf-retried": (uuids["tf-retried"], "SUCCESS"),
        "tf-linear": (uuids["tf-linear"], "SUCCESS"),
        "tf-reverted": (uuids["tf-reverted"], "REVERTED"),
    }
    assert data["flows"][0]["name"] == "tf-reverted"  # newest first
    page = ok_json(cli(url, "flows", "--json", "--state", "REVERTED", "--source", "taskflow"))
    assert [f["name"] for f in page["flows"]] == ["tf-reverted"]


def check_timeline_uses_meta_times_and_the_retry_history(
    taskflow_url: tuple[str, dict[str, str]],
) -> None:
    url, uuids = taskflow_url
    data = ok_json(cli(url, "timeline", "tf-retried", "--format", "json"))
    assert data["source"] == "taskflow"
    tries = {a["name"]: [t["attempt"] for t in a["attempts"]] for a in data["atoms"]}
    assert tries == {"again": [3], "prepare": [1], "flaky": [3]}  # only the latest is timed
    flaky = next(a for a in data["atoms"] if a["name"] == "flaky")["attempts"][0]
    assert flaky["outcome"] == "SUCCESS" and flaky["run_duration_s"] > 0
    unknown = "\n".join(data["unknown"])
    assert "when flaky attempt 1 failed with RuntimeError: attempt 1 failed" in unknown
    assert "when flaky attempt 2 failed with RuntimeError: attempt 2 failed" in unknown
    assert "how often a retry re-ran atoms that did not fail" in unknown
    assert "earlier attempts" in unknown
    text = cli(url, "timeline", uuids["tf-retried"][:8])
    assert text.exit_code == 0 and "source: taskflow" in text.stdout


def check_a_flow_is_found_as_in_recorders_database(
    taskflow_url: tuple[str, dict[str, str]],
) -> None:
    url, uuids = taskflow_url
    by_prefix = ok_json(cli(url, "show", uuids["tf-linear"][:8].upper(), "--json"))
    assert by_prefix["flow"]["uuid"] == uuids["tf-linear"]  # a prefix, in any case
    missing = cli(url, "show", "nope")
    assert missing.exit_code != 0
    assert "no TaskFlow flow matches 'nope' (tried uuid, uuid prefix and name)" in missing.stderr
    blank = cli(url, "show", "  ")
    assert blank.exit_code != 0 and "no TaskFlow flow given" in blank.stderr


def check_show_tells_the_failure_and_its_reverts(taskflow_url: tuple[str, dict[str, str]]) -> None:
    url, _ = taskflow_url
    data = ok_json(cli(url, "show", "tf-reverted", "--json"))
    assert data["flow"]["state"] == "REVERTED"
    (episode,) = data["failures"]
    assert episode["outcome"] == "REVERTED"
    assert [(f["atom"], f["failure"]["type"]) for f in episode["failures"]] == [
        ("boom", "ValueError")
    ]
    assert {r["atom"] for r in episode["reverts"]} == {"boom", "first"}


def check_stats_counts_attempts_and_failures_from_retries(
    taskflow_url: tuple[str, dict[str, str]],
) -> None:
    url, _ = taskflow_url
    data = ok_json(cli(url, "stats", "--json"))
    by_name = {s["name"]: s for s in data["stats"]}
    assert (by_name["flaky"]["attempts"], by_name["flaky"]["retries"]) == (3, 2)
    assert by_name["flaky"]["failures"] == 2
    assert by_name["boom"]["failures"] == 1 and by_name["boom"]["reverts"] == 1
    assert by_name["a"]["attempts"] == 1 and by_name["a"]["p50_s"] > 0
    table = cli(url, "stats", "--name", "fla*")
    assert table.exit_code == 0
    assert "flaky" in table.stdout and "latest attempt only" in table.stdout


def check_export_otel_of_a_taskflow_flow(taskflow_url: tuple[str, dict[str, str]]) -> None:
    url, uuids = taskflow_url
    result = cli(url, "export", "otel", "tf-retried")
    document = ok_json(result)
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    root = spans[0]
    assert {a["key"]: a["value"] for a in root["attributes"]}["cicd.pipeline.run.id"] == {
        "stringValue": uuids["tf-retried"]
    }
    attempts = [s for s in spans if s.get("parentSpanId") == root["spanId"]]
    assert sorted(s["name"] for s in attempts) == ["again", "flaky", "prepare"]  # latest only


def check_beside_recorder_auto_reads_recorders_and_taskflow_on_request(
    taskflow_url: tuple[str, dict[str, str]],
) -> None:
    url, uuids = taskflow_url
    migrate.upgrade(url)  # recorder's schema joins TaskFlow's
    assert cli(url, "flows").stdout.startswith("no flows recorded")
    data = ok_json(cli(url, "flows", "--json", "--source", "taskflow"))
    assert {f["uuid"] for f in data["flows"]} == set(uuids.values())
    shown = ok_json(cli(url, "show", "tf-linear", "--json", "--source", "taskflow"))
    assert [a["name"] for a in shown["atoms"]] == ["a", "b", "c"]


def test_source_taskflow_without_taskflow_tables_is_one_line(sqlite_url: str) -> None:
    result = cli(sqlite_url, "flows", "--source", "taskflow")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no TaskFlow tables (logbooks, flowdetails" in lines[0]
