"""Reads, reports and stats against real runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

import recorder
from recorder import demo, engines
from recorder.exceptions import AmbiguousFlow, FlowNotFound, InvalidArgument
from recorder.listeners.timing import DurationListener, EventTimeListener
from recorder.patterns import linear_flow
from recorder.persistence.urls import normalize
from recorder.query import (
    Attempt,
    FlowCursor,
    atom_stats,
    atoms_of,
    find_flow,
    get_flow,
    list_flows,
    load_report,
    transitions_of,
)
from tests.query.runs import Quick, record, record_demo, running_flow


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    engine = create_engine(normalize(db_url))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def small(name: str) -> linear_flow.Flow:
    return linear_flow.Flow(name).add(Quick(name="one"), Quick(name="two"))


def test_flows_page_newest_first_without_gaps_or_repeats(db_url: str, conn: Connection) -> None:
    made = [record(db_url, small("batch-%d" % i)) for i in range(7)]
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        page = list_flows(conn, limit=3, after=cursor)
        seen.extend(f.uuid for f in page)
        pages += 1
        if page.next is None:
            break
        cursor = FlowCursor.decode(page.next.encode())  # the token round-trips
    assert pages == 3
    assert seen == list(reversed(made))
    created = [get_flow(conn, u).created_at for u in seen]
    assert created == sorted(created, reverse=True)


def test_flow_filters_by_name_pattern_state_and_window(db_url: str, conn: Connection) -> None:
    ok = [record(db_url, small("nightly-%d" % i)) for i in range(3)]
    failed = record_demo(db_url)
    record(db_url, small("other"))
    assert {f.uuid for f in list_flows(conn, name="nightly-*")} == set(ok)
    assert [f.uuid for f in list_flows(conn, name="nightly-1")] == [ok[1]]
    assert [f.uuid for f in list_flows(conn, name="nightly-?", state="success")] == ok[::-1]
    assert [f.uuid for f in list_flows(conn, state=["REVERTED"])] == [failed]
    third = get_flow(conn, ok[2]).created_at
    assert [f.uuid for f in list_flows(conn, since=third, name="nightly-*")] == [ok[2]]
    assert [f.uuid for f in list_flows(conn, until=third, name="nightly-*")] == ok[1::-1]
    assert list(list_flows(conn, since=third + timedelta(days=1))) == []
    with pytest.raises(InvalidArgument):
        list_flows(conn, limit=0)
    with pytest.raises(InvalidArgument, match="page token"):
        FlowCursor.decode("not-a-token!")


def test_find_flow_by_uuid_prefix_and_name(db_url: str, conn: Connection) -> None:
    first = record(db_url, small("deploy"), uuid="abcd1234-0000-4000-8000-000000000001")
    second = record(db_url, small("deploy"), uuid="abcd5678-0000-4000-8000-000000000002")
    assert find_flow(conn, first).uuid == first
    assert find_flow(conn, "abcd12").uuid == first
    assert find_flow(conn, "ABCD56").uuid == second  # prefixes ignore case
    assert find_flow(conn, "deploy").uuid == second  # a name means its latest run
    with pytest.raises(AmbiguousFlow) as info:
        find_flow(conn, "abcd")
    message = str(info.value)
    assert first in message and second in message and "2 flows" in message
    assert (info.value.query, info.value.candidates, info.value.more) == (
        "abcd",
        (second, first),
        False,
    )
    with pytest.raises(FlowNotFound, match="no flow matches 'nope'") as missing:
        find_flow(conn, "nope")
    assert missing.value.query == "nope"
    with pytest.raises(FlowNotFound):
        find_flow(conn, "ab%")  # LIKE characters are not wildcards
    with pytest.raises(FlowNotFound):
        find_flow(conn, "  ")


def test_report_of_the_demo_flow(db_url: str, conn: Connection) -> None:
    uuid = record_demo(db_url)
    report = load_report(conn, get_flow(conn, uuid))
    tl = report.timeline
    assert tl.source == "transitions" and tl.state == "REVERTED" and not tl.open
    assert {a.name for a in tl.atoms} == {a.name for a in atoms_of(conn, uuid)}
    quote = tl.atom("fetch-shipping-quote")
    assert [a.outcome for a in quote.attempts] == ["FAILURE", "FAILURE", "SUCCESS"]
    assert [a.phase("waiting") is not None for a in quote.attempts] == [False, True, True]
    assert all(a.revert_outcome == "REVERTED" for a in quote.attempts)
    assert [a.number for a in tl.atom("quote-retry").attempts] == [1, 2, 3]
    first, second, last = report.failures
    assert first.outcome == second.outcome == "RETRIED"
    assert first.retried_by == "quote-retry"
    assert last.outcome == "REVERTED"
    assert last.failures[0].atom == "book-courier"
    assert last.failures[0].failure is not None
    assert last.failures[0].failure.type.endswith("CourierUnavailable")
    # The stored failure adds why: the exception chain and the traceback.
    assert last.failures[0].failure.causes == (
        "ConnectionError: POST /bookings on the courier API: 503",
    )
    assert "raise CourierUnavailable(" in (last.failures[0].failure.traceback or "")
    assert first.failures[0].failure is not None and first.failures[0].failure.causes == ()
    assert {r.atom for r in last.reverts} == {a.name for a in tl.atoms}
    assert report.critical_path is not None
    assert report.critical_path.contains("book-courier", 1, "running")
    data = report.to_json()
    assert data["flow"]["uuid"] == uuid and data["critical_path"]["steps"]


def same_phases(a: Attempt, b: Attempt) -> None:
    for name in ("running", "reverting"):
        pa, pb = a.phase(name), b.phase(name)
        assert (pa is None) == (pb is None)
        if pa is not None and pb is not None:
            assert (pa.started_at, pa.ended_at) == (pb.started_at, pb.ended_at)


def test_meta_with_history_gives_the_same_attempts_as_the_transitions(
    db_url: str, conn: Connection
) -> None:
    # recorder.record() keeps only TaskFlow's latest keys in meta (the rows hold the
    # history); standalone timing listeners also keep every attempt there.
    engine = engines.load(demo.build(50.0), store=demo.STORE, engine="parallel", backend=db_url)
    with (
        recorder.record(engine),
        DurationListener(engine),
        EventTimeListener(engine),
        pytest.raises(demo.CourierUnavailable),
    ):
        engine.run()
    engine.close()
    flow = get_flow(conn, engine.storage.flow_uuid)
    exact = load_report(conn, flow, source="transitions").timeline
    meta = load_report(conn, flow, source="meta").timeline
    assert meta.source == "meta" and meta.unknown
    for atom in exact.atoms:
        other = meta.atom(atom.name)
        assert [a.outcome for a in other.attempts] == [a.outcome for a in atom.attempts]
        for a, b in zip(atom.attempts, other.attempts, strict=True):
            same_phases(a, b)
    assert [(r.started_at, r.ended_at, r.end_state) for r in meta.runs] == [
        (r.started_at, r.ended_at, r.end_state) for r in exact.runs
    ]


def test_taskflow_meta_gives_the_latest_attempt_and_says_what_is_lost(
    db_url: str, conn: Connection
) -> None:
    flow = get_flow(conn, record_demo(db_url))
    exact = load_report(conn, flow, source="transitions").timeline
    meta = load_report(conn, flow, source="meta").timeline
    for atom in exact.atoms:
        (only,) = meta.atom(atom.name).attempts
        last = atom.attempts[-1]
        assert (only.number, only.outcome) == (last.number, last.outcome)
        same_phases(only, last)
    lost = [n for n in meta.unknown if ": earlier attempts" in n]
    assert {n.split(":")[0] for n in lost} == {"fetch-shipping-quote", "quote-retry"}


def test_transitions_page_by_seq(db_url: str, conn: Connection) -> None:
    uuid = record_demo(db_url)
    whole = transitions_of(conn, uuid)
    assert [r.seq for r in whole] == list(range(1, len(whole) + 1))
    pieces, after = [], 0
    while chunk := transitions_of(conn, uuid, after_seq=after, limit=10):
        pieces.extend(chunk)
        after = chunk[-1].seq
    assert pieces == whole


def test_a_running_flow_has_an_open_attempt(db_url: str) -> None:
    engine = create_engine(normalize(db_url))
    try:
        with running_flow(db_url) as uuid, engine.connect() as conn:
            report = load_report(conn, get_flow(conn, uuid))
            tl = report.timeline
            gate = tl.atom("gate").attempts[0]
            assert gate.open and gate.outcome is None
            assert tl.open and tl.runs[-1].end_state is None
            assert tl.atom("after").attempts == ()  # known from atom_details, not run yet
            assert tl.as_of is not None and tl.as_of > gate.phases[0].started_at
    finally:
        engine.dispose()


def test_stats_count_retries_failures_and_match_the_view(db_url: str, conn: Connection) -> None:
    record_demo(db_url, fails=True)
    record_demo(db_url, fails=False)
    stats = {s.name: s for s in atom_stats(conn)}
    quote = stats["fetch-shipping-quote"]
    assert (quote.runs, quote.attempts, quote.retries, quote.failures) == (2, 6, 4, 4)
    assert quote.failure_rate == pytest.approx(4 / 6, abs=1e-4)
    courier = stats["book-courier"]
    assert (courier.runs, courier.failures, courier.failure_rate) == (2, 1, 0.5)
    assert stats["validate-order"].reverts == 1
    for s in stats.values():
        assert s.p50 is not None and s.p95 is not None and s.max is not None
        assert 0 <= s.p50 <= s.p95 <= s.max
        view_max = conn.execute(
            text("SELECT MAX(duration_s) FROM atom_attempts WHERE atom_name = :n"), {"n": s.name}
        ).scalar_one()
        assert s.max == pytest.approx(float(view_max), abs=2e-6)
    only = atom_stats(conn, name="fetch-*")
    assert [s.name for s in only] == ["fetch-shipping-quote"]
    later = get_flow(conn, list_flows(conn).items[0].uuid).created_at + timedelta(hours=1)
    assert atom_stats(conn, since=later) == []
