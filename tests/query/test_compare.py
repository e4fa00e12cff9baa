"""recorder compare: per atom, this run against another or against the name's history."""

from __future__ import annotations

import json

from click.testing import CliRunner

from recorder.cli import main
from recorder.persistence import connect
from recorder.query.compare import compare_runs
from recorder.query.history import against_history, name_history
from recorder.query.load import load_report
from recorder.query.reads import get_flow
from tests.query.runs import record_demo


def _compare(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", url, "compare", *args])
    return result.exit_code, result.output


def test_a_slower_run_and_a_new_failure_are_named(db_url: str) -> None:
    fast_ok = record_demo(db_url, fails=False, speed=200)
    slow_failing = record_demo(db_url, fails=True, speed=2)
    code, out = _compare(db_url, slow_failing, fast_ok, "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["format"] == "recorder.compare/1"
    assert doc["against"] == {"kind": "flow", "uuid": fast_ok, "name": "order-fulfilment"}
    by_name = {a["name"]: a for a in doc["atoms"]}
    assert by_name["book-courier"]["verdict"] == "newly fails"
    # A hundred times slower: every task that slept is slower than the fast run's p95.
    assert by_name["charge-card"]["slower"] and by_name["reserve-stock"]["slower"]
    code, text = _compare(db_url, slow_failing, fast_ok)
    lines = text.splitlines()
    assert lines[4].startswith("book-courier") and "newly fails" in lines[4]
    # The other way round nothing newly fails and no task is slower (the retry
    # controller's sub-millisecond decisions are left out: commit noise).
    back = json.loads(_compare(db_url, fast_ok, slow_failing, "--json")[1])
    news = [a["name"] for a in back["atoms"] if a["newly_failing"] or a["slower"]]
    assert [n for n in news if n != "quote-retry"] == []


def test_against_history_uses_only_earlier_runs_of_the_same_name(db_url: str) -> None:
    first = record_demo(db_url, fails=False, speed=200)
    second = record_demo(db_url, fails=False, speed=200)
    backend = connect(db_url)
    try:
        with backend.engine.connect() as conn:
            flow = get_flow(conn, first)
            alone = against_history(conn, load_report(conn, flow).timeline, flow.created_at)
            assert alone.against["runs"] == 0
            assert all(a.baseline is None and a.verdict == "new" for a in alone.atoms)
            later = get_flow(conn, second)
            timeline = load_report(conn, later).timeline
            result = against_history(conn, timeline, later.created_at)
            assert result.against["runs"] == 1
            assert [(a.name, a.baseline and a.baseline.runs) for a in result.atoms] == [
                (a.name, 1) for a in result.atoms
            ]
            history = name_history(conn, "order-fulfilment")
            assert history.total == 2 and [r.uuid for r in history.runs] == [first, second]
            assert all(r.duration is not None and r.duration > 0 for r in history.runs)
            assert {s.name for s in history.atoms} == {a.name for a in timeline.atoms}
            assert name_history(conn, "no-such-name").atoms == []
            # Against itself: nothing changed.
            same = compare_runs(timeline, timeline)
            assert [a.verdict for a in same.atoms] == ["as usual"] * len(same.atoms)
    finally:
        backend.close()
