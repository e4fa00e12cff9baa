"""Every query in docs/post-mortem-sql.md runs, on SQLite and PostgreSQL, and is right.

The doc's ```sql blocks start with ``-- query: <id> (<databases>)``. Each one is
run against a database filled by real engine runs (the demo flow failing and
succeeding, plus a flow caught mid-run), and its answer is checked against what
the query layer computes from the same rows.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from recorder.persistence.urls import normalize
from recorder.query import FlowReport, atom_stats, get_flow, list_flows, load_report
from recorder.query.reads import transitions_of
from tests.query.runs import record_demo, running_flow

DOC = Path(__file__).resolve().parents[2] / "docs" / "post-mortem-sql.md"
BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
HEADER = re.compile(r"^-- query: (\S+) \(([^)]*)\)")
DIALECTS = {"SQLite": "sqlite", "PostgreSQL": "postgresql"}

T = TypeVar("T")


@dataclass(frozen=True)
class Query:
    name: str
    dialects: frozenset[str]
    sql: str


def documented() -> list[Query]:
    found = []
    for block in BLOCK.findall(DOC.read_text("utf-8")):
        header = HEADER.match(block)
        assert header, "every sql block starts with '-- query: <id> (<databases>)':\n" + block
        names = {DIALECTS[d.strip()] for d in header.group(2).split(",")}
        found.append(Query(header.group(1), frozenset(names), block))
    return found


def test_the_doc_answers_ten_questions_on_both_databases() -> None:
    queries = documented()
    by_name: dict[str, set[str]] = defaultdict(set)
    for q in queries:
        assert not by_name[q.name] & q.dialects, "%s given twice for one database" % q.name
        by_name[q.name] |= q.dialects
    assert len(by_name) >= 10
    assert all(d == {"sqlite", "postgresql"} for d in by_name.values()), by_name
    assert set(by_name) == set(CHECKS), "every documented query needs a check here"


# -- what the query layer says about the same database ---------------------------------


@dataclass
class Facts:
    reports: dict[str, FlowReport]
    running: str
    stats: dict[str, Any]
    latest_demo: str

    def attempts(self) -> Iterator[tuple[FlowReport, Any, Any]]:
        for report in self.reports.values():
            for atom in report.timeline.atoms:
                for attempt in atom.attempts:
                    yield report, atom, attempt

    def episode_of(self, flow: str, atom: str, attempt: int) -> Any:
        for ep in self.reports[flow].failures:
            if any((f.atom, f.attempt) == (atom, attempt) for f in ep.failures):
                return ep
        raise AssertionError("no episode for %s %s#%d" % (flow, atom, attempt))


def seconds(value: Any) -> float:
    return float(value)


def present(value: T | None) -> T:
    """``value``, which the check needs to be there."""
    assert value is not None
    return value


def when(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.astimezone(timezone.utc)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[(int(q * 100) * len(ordered) + 99) // 100 - 1]


# -- one check per question: rows are dicts, facts from the query layer -------------------


def check_slowest(rows: list[dict[str, Any]], facts: Facts) -> None:
    expected = sorted((s for s in facts.stats.values() if s.max is not None), key=lambda s: -s.max)[
        :10
    ]
    assert [r["atom_name"] for r in rows] == [s.name for s in expected]
    for row, s in zip(rows, expected, strict=True):
        assert (row["attempts"], seconds(row["max_s"])) == (s.finished, round(s.max, 3))


def check_retries(rows: list[dict[str, Any]], facts: Facts) -> None:
    got = {r["atom_name"]: (r["runs"], r["retries"]) for r in rows}
    assert got == {s.name: (s.runs, s.retries) for s in facts.stats.values() if s.retries}
    assert got["fetch-shipping-quote"] == (2, 4)


def check_stuck(rows: list[dict[str, Any]], facts: Facts) -> None:
    assert [(r["uuid"], r["state"]) for r in rows] == [(facts.running, "RUNNING")]
    assert 0 <= seconds(rows[0]["idle_s"]) < 600


def check_failed_and_reverted(rows: list[dict[str, Any]], facts: Facts) -> None:
    failures = [
        (flow, f) for flow, r in facts.reports.items() for ep in r.failures for f in ep.failures
    ]
    # Both demo runs: the quote fails twice in each, the courier once in the first.
    assert len(rows) == len([f for _, f in failures if f.during == "execute"]) == 5
    for row in rows:
        ep = facts.episode_of(row["flow_uuid"], row["failed_atom"], row["attempt"])
        failure = next(f for f in ep.failures if f.atom == row["failed_atom"])
        assert (row["error_type"], row["message"]) == (
            failure.failure.type,
            failure.failure.message,
        )
        assert row["reverted"] == ", ".join("%s#%d" % (r.atom, r.attempt) for r in ep.reverts)


def check_failure_to_revert(rows: list[dict[str, Any]], facts: Facts) -> None:
    assert len(rows) == 5
    for row in rows:
        ep = facts.episode_of(row["flow_uuid"], row["atom_name"], row["attempt"])
        revert = next(
            r for r in ep.reverts if (r.atom, r.attempt) == (row["atom_name"], row["attempt"])
        )
        failed = next(f for f in ep.failures if f.atom == row["atom_name"])
        expected = (revert.ended_at - failed.at).total_seconds()
        assert seconds(row["seconds_to_revert"]) == pytest.approx(expected, abs=1.5e-3)
        assert row["revert_outcome"] == revert.end_state == "REVERTED"


def check_recent_runs(rows: list[dict[str, Any]], facts: Facts) -> None:
    assert len(rows) == len(facts.reports)
    for row in rows:
        run = facts.reports[row["flow_uuid"]].timeline.runs[row["run"] - 1]
        assert row["final_state"] == run.end_state
        if run.duration is not None:
            assert seconds(row["duration_s"]) == pytest.approx(run.duration, abs=2e-6)
    assert rows[0]["flow_uuid"] == facts.running and rows[0]["final_state"] is None


def check_failure_rate(rows: list[dict[str, Any]], facts: Facts) -> None:
    got = {r["atom_name"]: (r["finished"], r["failures"], seconds(r["failure_pct"])) for r in rows}
    assert got == {
        s.name: (s.finished, s.failures, round(100 * s.failures / s.finished, 1))
        for s in facts.stats.values()
        if s.finished
    }


def check_common_errors(rows: list[dict[str, Any]], facts: Facts) -> None:
    counted = Counter(
        present(f.failure).type
        for r in facts.reports.values()
        for ep in r.failures
        for f in ep.failures
    )
    assert {r["error_type"]: r["times"] for r in rows} == dict(counted)
    assert rows[0]["error_type"].endswith("CarrierTimeout") and rows[0]["flows"] == 2


def check_p95(rows: list[dict[str, Any]], facts: Facts) -> None:
    durations: dict[str, list[float]] = defaultdict(list)
    for _, atom, attempt in facts.attempts():
        if attempt.run_duration is not None and attempt.outcome != "INTERRUPTED":
            durations[atom.name].append(attempt.run_duration)
    assert {r["atom_name"] for r in rows} == set(durations)
    for row in rows:
        values = durations[row["atom_name"]]
        assert row["attempts"] == len(values)
        assert seconds(row["p95_s"]) == pytest.approx(nearest_rank(values, 0.95), abs=2e-6)


def check_flow_attempts(rows: list[dict[str, Any]], facts: Facts) -> None:
    timeline = facts.reports[facts.latest_demo].timeline
    expected = sorted(  # the view's started_at is when it entered RUNNING (after any wait)
        (present(a.phase("running")).started_at, atom.name, a.number, a.outcome)
        for atom in timeline.atoms
        for a in atom.attempts
    )
    assert [
        (when(r["started_at"]), r["atom_name"], r["attempt"], r["outcome"]) for r in rows
    ] == expected


def check_audit_trail(rows: list[dict[str, Any]], facts: Facts, conn: Connection) -> None:
    trail = [
        (t.seq, t.attempt, t.new_state)
        for t in transitions_of(conn, facts.latest_demo)
        if t.name == "fetch-shipping-quote"
    ]
    assert [(r["seq"], r["attempt"], r["new_state"]) for r in rows] == trail
    assert [r["new_state"] for r in rows].count("FAILURE") == 2  # the carrier timed out twice


def check_retry_waits(rows: list[dict[str, Any]], facts: Facts) -> None:
    waits = {
        (report.flow.uuid, atom.name, a.number): a.phase("waiting").duration
        for report, atom, a in facts.attempts()
        if a.phase("waiting") is not None
    }
    assert {(r["flow_uuid"], r["atom_name"], r["attempt"]) for r in rows} == set(waits)
    for row in rows:
        key = (row["flow_uuid"], row["atom_name"], row["attempt"])
        assert seconds(row["waited_s"]) == pytest.approx(waits[key], abs=1.5e-3)


def check_runs_per_day(rows: list[dict[str, Any]], facts: Facts, conn: Connection) -> None:
    flows = list_flows(conn, limit=1000).items
    expected = Counter((f.created_at.date().isoformat(), f.state) for f in flows)
    assert {(str(r["day"]), r["state"]): r["flows"] for r in rows} == dict(expected)


CHECKS: dict[str, Callable[..., None]] = {
    "slowest-atoms-last-day": check_slowest,
    "retries-per-task": check_retries,
    "stuck-flows": check_stuck,
    "failed-and-reverted": check_failed_and_reverted,
    "failure-to-revert": check_failure_to_revert,
    "recent-runs": check_recent_runs,
    "failure-rate": check_failure_rate,
    "common-errors": check_common_errors,
    "p95-duration": check_p95,
    "flow-attempts": check_flow_attempts,
    "atom-audit-trail": check_audit_trail,
    "retry-waits": check_retry_waits,
    "runs-per-day": check_runs_per_day,
}
NEEDS_CONNECTION = {"atom-audit-trail", "runs-per-day"}


def test_every_documented_query_answers_correctly(db_url: str) -> None:
    failed_run = record_demo(db_url, fails=True)
    latest = record_demo(db_url, fails=False)
    engine = create_engine(normalize(db_url))
    problems: list[str] = []
    try:
        with running_flow(db_url, name="nightly-import") as running, engine.connect() as conn:
            reports = {
                uuid: load_report(conn, get_flow(conn, uuid))
                for uuid in (failed_run, latest, running)
            }
            stats = {s.name: s for s in atom_stats(conn)}
            facts = Facts(reports, running, stats, latest)
            dialect = conn.dialect.name
            for query in documented():
                if dialect not in query.dialects:
                    continue
                try:
                    result = conn.exec_driver_sql(query.sql)
                    rows = [dict(r) for r in result.mappings()]
                    args = (rows, facts, conn) if query.name in NEEDS_CONNECTION else (rows, facts)
                    CHECKS[query.name](*args)
                except Exception as exc:  # collect them all: one broken query hides none
                    problems.append("%s: %s: %s" % (query.name, type(exc).__name__, exc))
                    conn.rollback()
    finally:
        engine.dispose()
    assert not problems, "\n".join(problems)
