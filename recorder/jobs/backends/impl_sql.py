"""The SQL job board: jobs, claims and leases in recorder's own database.

``SQLJobBoard(name, conf)`` with ``conf = {"url": ..., "lease": 30.0,
"poll_interval": 1.0}`` (or ``"engine"``: an SQLAlchemy Engine of your own).
Operations and rules are TaskFlow's (:class:`~recorder.jobs.base.JobBoard`);
what differs is the lease: a claim holds for ``lease`` seconds (``claim(job,
who, expiry=...)`` for another length) and is renewed by
:meth:`SQLJobBoard.extend` (the claim listener does it on every state change,
its heartbeat in between). A CLAIMED job whose lease has expired can be claimed
by anyone: its old owner is fenced off (its renewals and its fenced writes
fail from then on). The statements are in :mod:`recorder.jobs.sql`, waking
waiters in :mod:`recorder.jobs.waiting`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import DBAPIError

from recorder import states
from recorder.exceptions import (
    ClaimLost,
    InvalidArgument,
    JobFailure,
    NotFound,
    UnclaimableJob,
)
from recorder.jobs.base import Job, JobBoard, JobPriority, check_who
from recorder.jobs.connections import KeptConnection
from recorder.jobs.job import SQLJob
from recorder.jobs.sql import TRASHED, JobSQL, utcnow
from recorder.jobs.waiting import Waiter, waiter_for
from recorder.persistence import db, migrate, urls
from recorder.persistence.models import new_uuid

_T = TypeVar("_T")

DEFAULT_LEASE = 30.0
DEFAULT_POLL_INTERVAL = 1.0
_TRANSIENT_ATTEMPTS = 5


class SQLJobBoard(JobBoard):
    """A job board on SQLite or PostgreSQL (see the module docstring)."""

    def __init__(self, name: str, conf: dict[str, Any], persistence: Any = None) -> None:
        super().__init__(name, dict(conf))
        self._given_engine: Engine | None = conf.get("engine")
        url = conf.get("url") or conf.get("connection")
        if self._given_engine is None and not url:
            raise InvalidArgument("job board %r needs conf['url'] (a database URL)" % name)
        self._url = urls.parse(url) if url else self._given_engine.url  # type: ignore[union-attr]
        self.lease = _positive(conf.get("lease", DEFAULT_LEASE), "lease")
        self.poll_interval = _positive(
            conf.get("poll_interval", DEFAULT_POLL_INTERVAL), "poll_interval"
        )
        self._listen = bool(conf.get("listen", True))
        self._persistence = persistence
        self._engine: Engine | None = None
        self._waiter: Waiter | None = None
        self._sql = JobSQL(self._url.get_backend_name())
        self._tokens: dict[str, int] = {}
        self._tokens_lock = threading.Lock()
        self._kept = {
            False: KeptConnection(lambda: self.engine, write=False),
            True: KeptConnection(lambda: self.engine, write=True),
        }
        self.entities: list[Any] = []

    def __repr__(self) -> str:
        return "<SQLJobBoard %s %s>" % (self.name, urls.redact(self._url))

    @property
    def dialect(self) -> str:
        return self._sql.dialect

    # -- connection ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._engine is not None

    def connect(self) -> None:
        if self._engine is not None:
            return
        engine = self._given_engine or db.create_db_engine(self._url)
        try:
            with engine.connect() as conn:
                current = migrate.revision_of(conn)
            migrate.require_head(engine.url.render_as_string(hide_password=False), current)
            db.enable_wal(engine)
        except DBAPIError as exc:
            if self._given_engine is None:
                engine.dispose()
            raise db.unavailable(engine.url, exc) from exc
        except BaseException:
            if self._given_engine is None:
                engine.dispose()
            raise
        self._engine = engine
        self._waiter = waiter_for(engine.url, listen=self._listen)

    def close(self) -> None:
        for kept in self._kept.values():
            kept.close()
        engine, self._engine = self._engine, None
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.close()
        if engine is not None and self._given_engine is None:
            engine.dispose()

    def __enter__(self) -> SQLJobBoard:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise JobFailure("job board %r is not connected (call connect())" % self.name)
        return self._engine

    def _run(self, work: Callable[[Connection], _T], *, write: bool) -> _T:
        """``work`` in one transaction; transient errors retried, others a JobFailure."""
        delay = 0.01
        for attempt in range(_TRANSIENT_ATTEMPTS):
            try:
                return self._kept[write].run(work)
            except DBAPIError as exc:
                if not db.is_transient(exc) or attempt == _TRANSIENT_ATTEMPTS - 1:
                    raise JobFailure(
                        "job board %r: %s" % (self.name, db.describe(exc)), cause=exc
                    ) from exc
                time.sleep(delay)
                delay *= 2
        raise JobFailure("job board %r: unreachable" % self.name)  # pragma: no cover

    def row_of(self, job_uuid: str) -> RowMapping | None:
        """The job's row as stored now (None if there is no such job)."""
        return self._run(lambda conn: self._sql.row(conn, job_uuid), write=False)

    def _job(self, row: RowMapping) -> SQLJob:
        return SQLJob(self, row, self._persistence)

    # -- reading ---------------------------------------------------------------

    def iterjobs(self, only_unclaimed: bool = False, ensure_fresh: bool = False) -> Iterator[Job]:
        """Jobs on the board (UNCLAIMED and CLAIMED), most urgent then oldest first.

        ``only_unclaimed``: the claimable ones, which includes CLAIMED jobs whose
        lease has expired. Every call reads the database (always fresh).
        """
        rows = self._run(lambda conn: self._sql.rows(conn, claimable=only_unclaimed), write=False)
        return iter([self._job(row) for row in rows])

    def jobs(self, state: str | None = None) -> list[SQLJob]:
        """Every job (also COMPLETE and TRASHED ones), or those in stored ``state``."""
        wanted = (state,) if state else (states.UNCLAIMED, states.CLAIMED, states.COMPLETE, TRASHED)
        rows = self._run(lambda conn: self._sql.rows(conn, states_in=wanted), write=False)
        return [self._job(row) for row in rows]

    def get(self, job_uuid: str) -> SQLJob:
        """The job with this uuid (whatever its state); NotFound if none."""
        row = self.row_of(job_uuid)
        if row is None:
            raise NotFound("no job %s on board %r" % (job_uuid, self.name))
        return self._job(row)

    def find(self, prefix: str) -> SQLJob:
        """The one job whose uuid starts with ``prefix``; NotFound if none or several."""
        rows = self._run(lambda conn: self._sql.by_prefix(conn, prefix), write=False)
        if len(rows) != 1:
            how = "no job" if not rows else "several jobs"
            raise NotFound("%s on board %r with uuid starting %r" % (how, self.name, prefix))
        return self._job(rows[0])

    def events(self, job: Job | str) -> list[RowMapping]:
        """The job's ``job_events`` rows, oldest first."""
        job_uuid = job if isinstance(job, str) else job.uuid
        return self._run(lambda conn: self._sql.events(conn, job_uuid), write=False)

    @property
    def job_count(self) -> int:
        return self._run(self._sql.count, write=False)

    def find_owner(self, job: Job) -> str | None:
        row = self.row_of(job.uuid)
        if row is None:
            raise NotFound("no job %s on board %r" % (job.uuid, self.name))
        return None if row["state"] != states.CLAIMED else row["owner"]

    def wait(self, timeout: float | None = None) -> Iterator[Job]:
        """Block until some job is claimable; its claimable jobs, or NotFound on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._run(self._sql.has_claimable, write=False):
                return self.iterjobs(only_unclaimed=True)
            step = self.poll_interval
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NotFound("no job arrived within %s seconds" % timeout)
                step = min(step, left)
            waiter = self._waiter
            if waiter is None:
                raise JobFailure("job board %r is not connected (call connect())" % self.name)
            waiter.wait(step)

    # -- posting and claims ----------------------------------------------------

    def post(
        self,
        name: str,
        book: Any = None,
        details: dict[str, Any] | None = None,
        priority: JobPriority | str = JobPriority.NORMAL,
    ) -> SQLJob:
        """Post an UNCLAIMED job; ``details['flow_uuid']`` names the flow it runs."""
        prio = JobPriority.convert(priority)
        details = dict(details or {})
        now = utcnow()
        flow_uuid = details.get("flow_uuid")
        values = {
            "uuid": new_uuid(),
            "name": name,
            "details": details,
            "book_uuid": None if book is None else book.uuid,
            "book_name": None if book is None else book.name,
            "flow_uuid": None if flow_uuid is None else str(flow_uuid),
            "priority": prio.rank,
            "state": states.UNCLAIMED,
            "owner": None,
            "lease_expires_at": None,
            "claims": 0,
            "created_at": now,
            "updated_at": now,
        }
        self._run(lambda conn: self._sql.post(conn, values), write=True)
        job = self.get(str(values["uuid"]))
        job._book = book
        return job

    @check_who
    def claim(self, job: Job, who: str, expiry: float | None = None) -> None:
        """Claim ``job`` for ``who`` for ``expiry`` (default: the board's lease) seconds.

        UnclaimableJob when another owner's lease is live or the job is done;
        NotFound when there is no such job.
        """
        lease = self.lease if expiry is None else _positive(expiry, "expiry")
        claimed = self._run(lambda conn: self._sql.claim(conn, who, lease, job.uuid), write=True)
        if claimed is None:
            row = self.row_of(job.uuid)
            if row is None:
                raise NotFound("no job %s on board %r" % (job.uuid, self.name))
            if row["state"] == states.CLAIMED:
                raise UnclaimableJob(
                    "job %s is already claimed by %r (lease until %s)"
                    % (job.uuid, row["owner"], row["lease_expires_at"])
                )
            raise UnclaimableJob("job %s is %s, it cannot be claimed" % (job.uuid, row["state"]))
        self._taken(job, claimed.row)

    def claim_next(self, who: str, expiry: float | None = None) -> SQLJob | None:
        """Claim the most urgent, oldest claimable job (``SKIP LOCKED``); None if none."""
        if not isinstance(who, str) or not who:
            raise InvalidArgument("Job applicant must be a non-empty string")
        lease = self.lease if expiry is None else _positive(expiry, "expiry")
        claimed = self._run(lambda conn: self._sql.claim(conn, who, lease), write=True)
        if claimed is None:
            return None
        job = self._job(claimed.row)
        self._taken(job, claimed.row)
        return job

    def _taken(self, job: Job, row: RowMapping) -> None:
        with self._tokens_lock:
            self._tokens[job.uuid] = int(row["claims"])
        if isinstance(job, SQLJob):
            job.claims = int(row["claims"])

    def token(self, job: Job) -> int | None:
        """The claim count of this board's own claim on ``job`` (None if it has none)."""
        with self._tokens_lock:
            return self._tokens.get(job.uuid)

    def extend(
        self, job: Job, who: str, expiry: float | None = None, *, record: bool = False
    ) -> bool:
        """Renew ``who``'s claim on ``job`` in one UPDATE; False when it was lost.

        ``record`` also appends an ``extended`` event (the heartbeat does).
        """
        lease = self.lease if expiry is None else expiry
        token = self.token(job)

        def renew(conn: Connection) -> bool:
            return self._sql.extend(conn, job.uuid, who, lease, token, record=record, relaxed=True)

        return self._run(renew, write=True)

    def fence(self, job: Job, who: str) -> Callable[[Connection], None]:
        """A check for a writer's transaction: renews the claim or raises ClaimLost.

        Given to an SQL backend (``SQLBackend.set_fence``), it runs first in each
        write transaction, so state for ``job``'s flow commits only while
        ``who``'s claim holds, and each write renews the lease.
        """
        token = self.token(job)
        lease = self.lease

        def check(conn: Connection) -> None:
            if not self._sql.extend(conn, job.uuid, who, lease, token):
                raise ClaimLost(
                    "claim of %r on job %s (claim %s) was lost: write refused"
                    % (who, job.uuid, token)
                )

        return check

    def _finish(self, job: Job, who: str, kind: str) -> None:
        token = self.token(job)
        row = self._run(lambda conn: self._sql.finish(conn, job.uuid, who, kind, token), write=True)
        if row is not None:
            with self._tokens_lock:
                self._tokens.pop(job.uuid, None)
            return
        current = self.row_of(job.uuid)
        if current is None or current["state"] in (states.COMPLETE, TRASHED):
            raise NotFound("job %s is not on board %r" % (job.uuid, self.name))
        if current["state"] == states.UNCLAIMED:
            raise NotFound("job %s has no owner: it is not claimed" % job.uuid)
        raise JobFailure(
            "job %s is claimed by %r (claim %s), not by %r: cannot %s it"
            % (job.uuid, current["owner"], current["claims"], who, kind.removesuffix("ed"))
        )

    @check_who
    def consume(self, job: Job, who: str) -> None:
        self._finish(job, who, "consumed")

    @check_who
    def abandon(self, job: Job, who: str) -> None:
        self._finish(job, who, "abandoned")

    @check_who
    def trash(self, job: Job, who: str) -> None:
        self._finish(job, who, "trashed")

    def register_entity(self, entity: Any) -> None:
        """Remember a conductor entity (TaskFlow's ``Entity``: kind, name, metadata)."""
        kind = getattr(entity, "kind", None)
        if kind != "conductor":
            raise InvalidArgument("not implemented for other entity kind %r" % (kind,))
        self.entities.append(entity)


def _positive(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument("%s must be a number of seconds, not %r" % (what, value)) from None
    if number <= 0:
        raise InvalidArgument("%s must be more than 0 seconds, not %r" % (what, value))
    return number
