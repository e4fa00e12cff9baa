"""``recorder verify``: exit 0 for intact chains, 2 for tampered ones, 1 for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from recorder.cli import main
from recorder.persistence.urls import normalize
from tests.query.runs import record_demo


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


@contextmanager
def tampering(url: str) -> Iterator[Connection]:
    """A transaction that may rewrite history (PostgreSQL's append-only trigger is bypassed
    the way only a superuser can: replica mode skips ordinary triggers)."""
    engine = create_engine(normalize(url))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
    finally:
        engine.dispose()


def test_intact_chains_verify(db_url: str) -> None:
    uuids = [record_demo(db_url), record_demo(db_url, fails=False)]
    result = cli(db_url, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 2 flow(s), ")
    one = cli(db_url, "verify", uuids[1][:8])
    assert one.exit_code == 0 and one.stdout.startswith("ok: 1 flow(s), ")


def test_an_altered_row_fails_with_exit_2(db_url: str) -> None:
    good, bad = record_demo(db_url), record_demo(db_url)
    with tampering(db_url) as conn:
        conn.execute(
            text("UPDATE transitions SET name = 'forged' WHERE flow_uuid = :f AND seq = 7"),
            {"f": bad},
        )
    result = cli(db_url, "verify")
    assert result.exit_code == 2, result.output
    assert result.stdout.splitlines() == [
        "FAILED %s order-fulfilment: row 7: hash does not match its contents (altered)" % bad
    ]
    assert "integrity failure: 1 of 2 flow(s)" in result.stderr
    assert cli(db_url, "verify", good).exit_code == 0
    assert cli(db_url, "verify", bad).exit_code == 2


def test_rows_cut_off_the_end_fail_with_exit_2(db_url: str) -> None:
    uuid = record_demo(db_url)
    with tampering(db_url) as conn:
        last = conn.execute(
            text("SELECT MAX(seq) FROM transitions WHERE flow_uuid = :f"), {"f": uuid}
        ).scalar_one()
        conn.execute(
            text("DELETE FROM transitions WHERE flow_uuid = :f AND seq >= :s"),
            {"f": uuid, "s": last - 2},
        )
    result = cli(db_url, "verify", uuid)
    assert result.exit_code == 2, result.output
    assert "the flow is REVERTED but its trail ends at row %d" % (last - 3) in result.stdout


def test_a_removed_middle_row_is_named(db_url: str) -> None:
    uuid = record_demo(db_url)
    with tampering(db_url) as conn:
        conn.execute(text("DELETE FROM transitions WHERE flow_uuid = :f AND seq = 3"), {"f": uuid})
    result = cli(db_url, "verify")
    assert result.exit_code == 2
    assert "row 3 is missing" in result.stdout


def test_verify_of_an_unknown_flow_is_a_user_error(db_url: str) -> None:
    record_demo(db_url)
    result = cli(db_url, "verify", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("recorder: error: no flow matches 'nope'")
