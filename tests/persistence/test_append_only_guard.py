"""``recorder db check`` on PostgreSQL: the append-only triggers on transitions must be
there, enabled and calling recorder's function; anything else is drift (exit 1)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from recorder.cli import main
from recorder.persistence import migrate
from tests.support.faults import execute

pytestmark = pytest.mark.postgres


def db_check(url: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, "db", "check"])


TAMPERING = {
    "dropped": (
        ["DROP TRIGGER transitions_append_only ON transitions"],
        "trigger transitions_append_only on transitions is missing (it rejects UPDATE and DELETE)",
    ),
    "truncate dropped": (
        ["DROP TRIGGER transitions_no_truncate ON transitions"],
        "trigger transitions_no_truncate on transitions is missing (it rejects TRUNCATE)",
    ),
    "disabled": (
        ["ALTER TABLE transitions DISABLE TRIGGER transitions_append_only"],
        "trigger transitions_append_only on transitions is disabled",
    ),
    "all disabled": (
        ["ALTER TABLE transitions DISABLE TRIGGER USER"],
        "trigger transitions_no_truncate on transitions is disabled",
    ),
    "replica only": (
        ["ALTER TABLE transitions ENABLE REPLICA TRIGGER transitions_no_truncate"],
        "trigger transitions_no_truncate on transitions fires only in replica mode",
    ),
    "defanged function": (
        [
            "CREATE OR REPLACE FUNCTION recorder_transitions_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$"
        ],
        "function recorder_transitions_append_only() no longer raises",
    ),
    "replica by default": (
        [
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET session_replication_role = "
            "replica', current_database()); END $$"
        ],
        "session_replication_role defaults to replica",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_missing_or_disabled_trigger_is_drift(pg_url: str, case: str) -> None:
    statements, reason = TAMPERING[case]
    assert db_check(pg_url).exit_code == 0
    execute(pg_url, *statements)
    result = db_check(pg_url)
    assert result.exit_code == 1, result.output
    assert reason in result.stdout, result.output
    assert "no drift" not in result.output
    assert "recorder: error: " in result.stderr and "Traceback" not in result.output
    assert reason in "\n".join(migrate.check(pg_url))
