"""Which job worker ran each run of a flow: the claims of the flow's jobs.

A flow run by ``recorder worker`` is claimed before each of its runs starts;
the owner of the newest claim made before a run began is the worker that ran
it (``job_events`` rows of kind ``claimed``, joined to the flow by
``jobs.flow_uuid``). A flow run without jobs has no claims and no names.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from recorder.persistence.jobs_schema import job_events, jobs
from recorder.query.model import RunSegment, Timeline


def claims_of_flow(conn: Connection, flow_uuid: str) -> list[tuple[datetime, str]]:
    """(when, who) of every claim on a job of ``flow_uuid``, oldest first."""
    stmt = (
        select(job_events.c.at, job_events.c.who)
        .join(jobs, jobs.c.uuid == job_events.c.job_uuid)
        .where(jobs.c.flow_uuid == flow_uuid, job_events.c.kind == "claimed")
        .order_by(job_events.c.at, job_events.c.id)
    )
    return [(row.at, row.who) for row in conn.execute(stmt) if row.who is not None]


def with_workers(timeline: Timeline, claims: list[tuple[datetime, str]]) -> Timeline:
    """``timeline`` with each run named after the worker whose claim it ran under."""
    if not claims:
        return timeline
    runs: list[RunSegment] = []
    for run in timeline.runs:
        before = [who for at, who in claims if at <= run.started_at]
        runs.append(replace(run, worker=before[-1]) if before else run)
    return replace(timeline, runs=tuple(runs))
