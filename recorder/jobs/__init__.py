"""Jobs on the database recorder writes to: post, claim with a lease, run, consume.

TaskFlow's job board API (:mod:`recorder.jobs.base`) on SQL
(:mod:`recorder.jobs.backends.impl_sql`), fetched as TaskFlow's are
(``recorder.jobs.backends.fetch(name, conf)``). Workers that claim and run the
jobs are in :mod:`recorder.conductors`; ``docs/jobs.md`` tells how to run them
on several machines against one PostgreSQL.
"""

from __future__ import annotations

from recorder.jobs.backends import backend, fetch
from recorder.jobs.base import Job, JobBoard, JobPriority

__all__ = ["Job", "JobBoard", "JobPriority", "backend", "fetch"]
