"""Post-mortem views over the transitions table: atom_attempts and flow_runs.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-26

``atom_attempts``: one row per time an atom entered RUNNING. ``started_at`` is that
transition, ``finished_at``/``outcome`` the first SUCCESS or FAILURE of the same
attempt (NULL while it runs, or if the process died), ``duration_s`` the seconds
between them, ``reverted`` whether a REVERTED transition exists for the attempt.

``flow_runs``: one row per run segment of a flow (a resumed flow has several).
A run starts at each flow transition into RUNNING and ends at the first
SUCCESS, FAILURE, REVERTED or SUSPENDED after it. A run that never ended (still
running, or the process died and the flow was later resumed, which shows as
RESUMING) has ``final_state`` NULL and ``ended_at`` = its last recorded
transition of any kind, so ``duration_s`` is how long it was seen alive.

Durations are computed to the microsecond on both databases: PostgreSQL by
EXTRACT(EPOCH ...), SQLite from the fixed-width UTC text recorder stores
(whole seconds by strftime('%s'), microseconds from characters 21-26).
The view text is frozen here on purpose; later changes get a new migration.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

END_STATES = "'SUCCESS', 'FAILURE', 'REVERTED', 'SUSPENDED'"


def _seconds(dialect: str, end: str, start: str) -> str:
    """SQL for the seconds from time column ``start`` to ``end`` (a float)."""
    if dialect == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM (%s - %s)) AS DOUBLE PRECISION)" % (end, start)
    return (
        "((CAST(strftime('%%s', substr(%(e)s, 1, 19)) AS INTEGER)"
        " - CAST(strftime('%%s', substr(%(s)s, 1, 19)) AS INTEGER))"
        " + (CAST(substr(%(e)s, 21, 6) AS INTEGER)"
        " - CAST(substr(%(s)s, 21, 6) AS INTEGER)) / 1000000.0)" % {"e": end, "s": start}
    )


def _atom_attempts(dialect: str) -> str:
    return """
CREATE VIEW atom_attempts AS
SELECT
    r.flow_uuid AS flow_uuid,
    f.name AS flow_name,
    r.atom_uuid AS atom_uuid,
    r.name AS atom_name,
    r.kind AS kind,
    r.attempt AS attempt,
    r.at AS started_at,
    e.at AS finished_at,
    {duration} AS duration_s,
    e.new_state AS outcome,
    EXISTS (
        SELECT 1 FROM transitions v
        WHERE v.atom_uuid = r.atom_uuid AND v.flow_uuid = r.flow_uuid
          AND v.attempt = r.attempt AND v.new_state = 'REVERTED'
    ) AS reverted
FROM transitions r
LEFT JOIN flow_details f ON f.uuid = r.flow_uuid
LEFT JOIN transitions e ON e.flow_uuid = r.flow_uuid AND e.seq = (
    SELECT MIN(x.seq) FROM transitions x
    WHERE x.atom_uuid = r.atom_uuid AND x.flow_uuid = r.flow_uuid
      AND x.attempt = r.attempt AND x.seq > r.seq
      AND x.new_state IN ('SUCCESS', 'FAILURE')
)
WHERE r.atom_uuid IS NOT NULL AND r.new_state = 'RUNNING'
""".format(duration=_seconds(dialect, "e.at", "r.at"))


def _flow_runs(dialect: str) -> str:
    return """
CREATE VIEW flow_runs AS
WITH starts AS (
    SELECT
        flow_uuid,
        seq AS start_seq,
        at AS started_at,
        ROW_NUMBER() OVER (PARTITION BY flow_uuid ORDER BY seq) AS run,
        LEAD(seq) OVER (PARTITION BY flow_uuid ORDER BY seq) AS next_start_seq
    FROM transitions
    WHERE kind = 'flow' AND new_state = 'RUNNING'
),
bounded AS (
    SELECT
        s.*,
        (SELECT MIN(x.seq) FROM transitions x
         WHERE x.flow_uuid = s.flow_uuid AND x.kind = 'flow' AND x.seq > s.start_seq
           AND (s.next_start_seq IS NULL OR x.seq < s.next_start_seq)
           AND x.new_state IN ({end_states}, 'RESUMING')) AS end_seq
    FROM starts s
),
ended AS (
    SELECT
        b.*,
        e.new_state AS end_state,
        e.at AS end_at,
        (SELECT MAX(y.at) FROM transitions y
         WHERE y.flow_uuid = b.flow_uuid AND y.seq >= b.start_seq
           AND (b.end_seq IS NULL OR y.seq < b.end_seq)
           AND (b.next_start_seq IS NULL OR y.seq < b.next_start_seq)) AS last_at
    FROM bounded b
    LEFT JOIN transitions e ON e.flow_uuid = b.flow_uuid AND e.seq = b.end_seq
)
SELECT
    n.flow_uuid AS flow_uuid,
    f.name AS flow_name,
    n.run AS run,
    n.started_at AS started_at,
    CASE WHEN n.end_state IN ({end_states}) THEN n.end_at ELSE n.last_at END AS ended_at,
    CASE WHEN n.end_state IN ({end_states})
         THEN {end_duration} ELSE {last_duration} END AS duration_s,
    CASE WHEN n.end_state IN ({end_states}) THEN n.end_state END AS final_state
FROM ended n
LEFT JOIN flow_details f ON f.uuid = n.flow_uuid
""".format(
        end_states=END_STATES,
        end_duration=_seconds(dialect, "n.end_at", "n.started_at"),
        last_duration=_seconds(dialect, "n.last_at", "n.started_at"),
    )


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    op.execute(_atom_attempts(dialect))
    op.execute(_flow_runs(dialect))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS flow_runs")
    op.execute("DROP VIEW IF EXISTS atom_attempts")
