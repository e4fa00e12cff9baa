"""``recorder verify`` against forgeries the hash chain alone cannot see: a trail cut
whole or cut and papered over by editing flow_details / atom_details.

Each forgery is made with plain SQL the way an operator with database access
could (on PostgreSQL past the append-only trigger), then checked through the
real CLI. Flows that legitimately have no trail, or whose trail is a prefix a
crash left, must still verify.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import Connection

import recorder
from recorder import engines
from recorder.cli import main
from recorder.patterns import linear_flow
from recorder.persistence.models import FlowDetail
from tests.cli.forging import sql
from tests.query.runs import record_demo
from tests.support.sample_tasks import Boom, Const


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def failed(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "integrity failure" in result.stderr
    return result.stdout


def last_seq(conn: Connection, uuid: str) -> int:
    query = text("SELECT MAX(seq) FROM transitions WHERE flow_uuid = :f")
    return int(conn.execute(query, {"f": uuid}).scalar_one())


def test_a_finished_flow_with_every_row_deleted_fails(db_url: str) -> None:
    good, cut = record_demo(db_url, fails=False), record_demo(db_url, fails=False)
    with sql(db_url) as conn:
        conn.execute(text("DELETE FROM transitions WHERE flow_uuid = :f"), {"f": cut})
    out = failed(cli(db_url, "verify"))
    assert out.splitlines() == [
        "FAILED %s order-fulfilment: its meta says it was recorded with a transitions "
        "trail, but it has no transition rows" % cut
    ]
    assert cli(db_url, "verify", good).exit_code == 0


def test_a_cut_tail_with_the_flow_set_back_to_running_fails(db_url: str) -> None:
    uuid = record_demo(db_url, fails=False)
    with sql(db_url) as conn:
        end = last_seq(conn, uuid)
        conn.execute(
            text("DELETE FROM transitions WHERE flow_uuid = :f AND seq > :s"),
            {"f": uuid, "s": end - 4},
        )
        conn.execute(text("UPDATE flow_details SET state = 'RUNNING' WHERE uuid = :f"), {"f": uuid})
    out = failed(cli(db_url, "verify", uuid))
    assert "in atom_details but its last transition (row" in out


def test_a_flow_state_that_is_not_its_last_flow_transition_fails(db_url: str) -> None:
    uuid = record_demo(db_url, fails=False)
    with sql(db_url) as conn:
        conn.execute(text("UPDATE flow_details SET state = 'RUNNING' WHERE uuid = :f"), {"f": uuid})
    out = failed(cli(db_url, "verify"))
    assert "flow_details says RUNNING but its last flow transition (row" in out
    assert out.rstrip().endswith("is to SUCCESS")


ATOM_EDITS = {
    "state": (
        "UPDATE atom_details SET state = 'SUCCESS' WHERE flow_uuid = :f AND name = 'book-courier'",
        "atom 'book-courier' is SUCCESS in atom_details but its last transition (row",
    ),
    "attempt": (
        "UPDATE atom_details SET attempt = attempt + 1 WHERE flow_uuid = :f "
        "AND name = 'fetch-shipping-quote'",
        "atom 'fetch-shipping-quote' has attempt 4 in atom_details but its last transition (row",
    ),
    "deleted": (
        "DELETE FROM atom_details WHERE flow_uuid = :f AND name = 'reserve-stock'",
        "atom 'reserve-stock' is in the trail (row",
    ),
    "inserted": (
        "INSERT INTO atom_details (uuid, flow_uuid, name, kind, state, intention, attempt, "
        "meta, created_at) SELECT 'forged-atom', uuid, 'extra', 'task', 'SUCCESS', "
        "'EXECUTE', 1, meta, created_at FROM flow_details WHERE uuid = :f",
        "atom 'extra' is SUCCESS in atom_details but the trail has no row for it",
    ),
}


@pytest.mark.parametrize("edit", sorted(ATOM_EDITS))
def test_edited_atom_details_fail(db_url: str, edit: str) -> None:
    uuid = record_demo(db_url)
    statement, reason = ATOM_EDITS[edit]
    with sql(db_url) as conn:
        conn.execute(text(statement), {"f": uuid})
    out = failed(cli(db_url, "verify"))
    assert reason in out, out


@pytest.mark.postgres
@pytest.mark.parametrize("bypass", ["replica", "disable", "drop"])
@pytest.mark.parametrize("how", ["TRUNCATE transitions", "DELETE FROM transitions"])
def test_postgres_trail_wiped_past_the_trigger_fails(pg_url: str, bypass: str, how: str) -> None:
    uuids = [record_demo(pg_url), record_demo(pg_url, fails=False)]
    with sql(pg_url, bypass) as conn:
        conn.execute(text(how))
    out = failed(cli(pg_url, "verify"))
    assert len(out.splitlines()) == 2
    for uuid in uuids:
        assert "FAILED %s order-fulfilment: its meta says it was recorded" % uuid in out


def test_a_flow_run_without_a_transition_recorder_still_verifies(db_url: str) -> None:
    recorded = record_demo(db_url, fails=False)
    flow = linear_flow.Flow("plain").add(Const(1, name="one", provides="x"))
    engine = engines.load(flow, backend=db_url, trail=False)
    try:
        engine.run()  # a backend, but opted out: no trail
    finally:
        engine.close()
    result = cli(db_url, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 2 flow(s)")
    assert "; 1 flow(s) have no trail" in result.stdout
    assert cli(db_url, "verify", recorded).exit_code == 0


def test_a_trail_started_on_a_flow_that_ran_unrecorded_verifies(db_url: str) -> None:
    """Recording attached only on a later run: atoms with no rows are not held against it."""

    def build() -> linear_flow.Flow:
        return linear_flow.Flow("late").add(Const(1, name="one", provides="x"), Boom(name="boom"))

    detail = FlowDetail(name="late", state="PENDING")
    first = engines.load(build(), backend=db_url, flow_detail=detail)
    try:
        with pytest.raises(Exception, match="boom"):
            first.run()  # unrecorded: REVERTED, attempts 1, no rows
    finally:
        first.close()
    uuid = detail.uuid
    again = engines.load(build(), backend=db_url, flow_detail=uuid)
    try:  # recorded this time: a REVERTED flow runs again from the start
        with recorder.record(again), pytest.raises(Exception, match="boom"):
            again.run()
    finally:
        again.close()
    result = cli(db_url, "verify", uuid)
    assert result.exit_code == 0, result.output
    assert "ok: 1 flow(s)" in result.stdout
    with recorder.persistence.connect(db_url) as backend:
        assert backend.load_flow(uuid).atoms["one"].attempt == 2
