"""The job board's SQL: each board operation as one short transaction.

Every claim-like operation reads the job row with ``FOR UPDATE`` (PostgreSQL;
``claim_next`` adds ``SKIP LOCKED`` so workers racing for the next job never
wait on each other) or inside ``BEGIN IMMEDIATE`` (SQLite: one writer at a
time on the file, so the read and the update cannot interleave with another
process's), changes it, and appends its ``job_events`` row in the same
transaction. A claim is claimable when UNCLAIMED, or CLAIMED with a lease that
has expired. Lease times are the database server's clock on PostgreSQL
(``clock_timestamp()``, so workers on several machines agree without synced
clocks) and this machine's on SQLite (one file, one machine).

The claim count is the fencing token: :meth:`JobSQL.extend` succeeds only for
the (owner, claim count) that took the claim, so a worker whose lease was taken
over cannot renew it, nor (through the fence, see ``recorder.jobs.fencing``)
commit state for the job's flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, RowMapping

from recorder import states
from recorder.persistence.coltypes import UTCDateTime
from recorder.persistence.jobs_schema import job_events, jobs

TRASHED = "TRASHED"
"""Stored state of a trashed job (``Job.state`` reports it as COMPLETE, as TaskFlow's)."""
ON_BOARD = (states.UNCLAIMED, states.CLAIMED)
NOTIFY_CHANNEL = "recorder_jobs"

EVENT_KINDS = ("posted", "claimed", "lost", "extended", "consumed", "abandoned", "trashed")


@dataclass(frozen=True)
class Claimed:
    """A claim just taken: the job row after it and whose expired claim it replaced."""

    row: RowMapping
    previous_owner: str | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class JobSQL:
    """Builds and runs the board's statements for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.postgres = dialect == "postgresql"
        # The renewal runs on every state change (and in every fenced write): built once.
        if self.postgres:
            until: Any = func.clock_timestamp() + func.make_interval(
                0, 0, 0, 0, 0, 0, bindparam("lease")
            )
        else:
            until = bindparam("until", type_=UTCDateTime())
        mine = and_(
            jobs.c.uuid == bindparam("u"),
            jobs.c.owner == bindparam("o"),
            jobs.c.state == states.CLAIMED,
        )
        self._extend = {
            False: update(jobs).where(mine).values(lease_expires_at=until),
            True: update(jobs)
            .where(and_(mine, jobs.c.claims == bindparam("t")))
            .values(lease_expires_at=until),
        }
        # Claims and finishes, once per job: built once too.
        now: Any = (
            func.clock_timestamp() if self.postgres else bindparam("now", type_=UTCDateTime())
        )
        claimable = or_(
            jobs.c.state == states.UNCLAIMED,
            and_(jobs.c.state == states.CLAIMED, jobs.c.lease_expires_at < now),
        )
        pick = select(jobs.c.uuid, jobs.c.owner, jobs.c.state).where(claimable)
        self._pick_one = pick.where(jobs.c.uuid == bindparam("u")).with_for_update()
        self._pick_next = (
            pick.order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.uuid)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        self._take = (
            update(jobs)
            .where(jobs.c.uuid == bindparam("u"))
            .values(
                state=states.CLAIMED,
                owner=bindparam("who"),
                claims=jobs.c.claims + 1,
                lease_expires_at=until,
                updated_at=bindparam("at", type_=UTCDateTime()),
            )
            .returning(*jobs.c)
        )
        release = {
            "state": bindparam("new_state"),
            "owner": None,
            "lease_expires_at": None,
            "updated_at": bindparam("at", type_=UTCDateTime()),
        }
        self._release = {
            False: update(jobs).where(mine).values(**release).returning(*jobs.c),
            True: update(jobs)
            .where(and_(mine, jobs.c.claims == bindparam("t")))
            .values(**release)
            .returning(*jobs.c),
        }
        self._event = insert(job_events)

    # -- time ------------------------------------------------------------------

    def now(self) -> ColumnElement[Any]:
        """The lease clock: the server's on PostgreSQL, ours on SQLite."""
        if self.postgres:
            return func.clock_timestamp()
        return bindparam("now", utcnow(), type_=UTCDateTime(), unique=True)

    def until(self, lease: float) -> ColumnElement[Any]:
        """``now() + lease`` seconds."""
        if self.postgres:
            return func.clock_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, float(lease))
        return bindparam(
            "until", utcnow() + timedelta(seconds=lease), type_=UTCDateTime(), unique=True
        )

    def claimable(self) -> ColumnElement[bool]:
        return or_(
            jobs.c.state == states.UNCLAIMED,
            and_(jobs.c.state == states.CLAIMED, jobs.c.lease_expires_at < self.now()),
        )

    # -- posting and reading ---------------------------------------------------

    def post(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(insert(jobs), values)
        self.event(conn, values["uuid"], "posted", None, 0, values["created_at"])
        self.notify(conn, values["uuid"])

    def notify(self, conn: Connection, job_uuid: str) -> None:
        """Wake PostgreSQL waiters at commit (LISTEN/NOTIFY); SQLite waiters poll."""
        if self.postgres:
            conn.execute(
                text("SELECT pg_notify(:channel, :uuid)"),
                {
                    "channel": NOTIFY_CHANNEL,
                    "uuid": job_uuid,
                },
            )

    def event(
        self,
        conn: Connection,
        job_uuid: str,
        kind: str,
        who: str | None,
        claims: int,
        at: datetime | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        conn.execute(
            self._event,
            {
                "job_uuid": job_uuid,
                "kind": kind,
                "who": who,
                "at": at or utcnow(),
                "claims": claims,
                "details": details or {},
            },
        )

    def row(self, conn: Connection, job_uuid: str) -> RowMapping | None:
        return conn.execute(select(jobs).where(jobs.c.uuid == job_uuid)).mappings().first()

    def by_prefix(self, conn: Connection, prefix: str, limit: int = 2) -> list[RowMapping]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = select(jobs).where(jobs.c.uuid.like(escaped + "%", escape="\\")).limit(limit)
        return list(conn.execute(stmt).mappings())

    def rows(
        self, conn: Connection, *, states_in: Sequence[str] = ON_BOARD, claimable: bool = False
    ) -> list[RowMapping]:
        stmt = select(jobs)
        stmt = (
            stmt.where(self.claimable()) if claimable else stmt.where(jobs.c.state.in_(states_in))
        )
        stmt = stmt.order_by(jobs.c.priority.desc(), jobs.c.created_at, jobs.c.uuid)
        return list(conn.execute(stmt).mappings())

    def has_claimable(self, conn: Connection) -> bool:
        stmt = select(jobs.c.uuid).where(self.claimable()).limit(1)
        return conn.execute(stmt).first() is not None

    def count(self, conn: Connection) -> int:
        stmt = select(func.count()).select_from(jobs).where(jobs.c.state.in_(ON_BOARD))
        return int(conn.execute(stmt).scalar_one())

    def events(self, conn: Connection, job_uuid: str) -> list[RowMapping]:
        stmt = select(job_events).where(job_events.c.job_uuid == job_uuid).order_by(job_events.c.id)
        return list(conn.execute(stmt).mappings())

    # -- claims ----------------------------------------------------------------

    def claim(
        self, conn: Connection, who: str, lease: float, job_uuid: str | None = None
    ) -> Claimed | None:
        """Claim ``job_uuid`` (or the next claimable job); None when it is not claimable.

        Runs in the caller's write transaction.
        """
        params: dict[str, Any] = {"u": job_uuid, "who": who}
        at = utcnow()
        if self.postgres:
            params["lease"] = float(lease)
        else:
            params["now"] = at
            params["until"] = at + timedelta(seconds=lease)
        pick = self._pick_next if job_uuid is None else self._pick_one
        picked = conn.execute(pick, params).first()
        if picked is None:
            return None
        params["u"] = picked.uuid
        params["at"] = at
        row = conn.execute(self._take, params).mappings().one()
        previous = picked.owner if picked.state == states.CLAIMED else None
        if previous is not None:
            self.event(conn, picked.uuid, "lost", previous, row["claims"] - 1, at, {"to": who})
        self.event(conn, picked.uuid, "claimed", who, row["claims"], at, {"lease": lease})
        return Claimed(row, previous)

    def extend(
        self,
        conn: Connection,
        job_uuid: str,
        who: str,
        lease: float,
        token: int | None,
        *,
        record: bool = False,
        relaxed: bool = False,
    ) -> bool:
        """Renew the lease of ``who``'s claim (the one with claim count ``token``).

        One UPDATE; False when the claim is not ``who``'s any more. ``relaxed``
        (a renewal in a transaction of its own): on PostgreSQL the commit does not
        wait for the WAL flush; a renewal lost in a server crash only makes the
        lease end sooner, and the claim count still fences the claim.
        """
        if relaxed and self.postgres:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        params: dict[str, Any] = {"u": job_uuid, "o": who, "t": token}
        if self.postgres:
            params["lease"] = float(lease)
        else:
            params["until"] = utcnow() + timedelta(seconds=lease)
        stmt = self._extend[token is not None]
        held = conn.execute(stmt, params).rowcount == 1
        if held and record:
            self.event(conn, job_uuid, "extended", who, token or 0, details={"lease": lease})
        return held

    def finish(
        self, conn: Connection, job_uuid: str, who: str, kind: str, token: int | None
    ) -> RowMapping | None:
        """Consume, abandon or trash ``who``'s claimed job; None when it is not ``who``'s."""
        new_state = {
            "consumed": states.COMPLETE,
            "abandoned": states.UNCLAIMED,
            "trashed": TRASHED,
        }[kind]
        at = utcnow()
        params = {"u": job_uuid, "o": who, "t": token, "new_state": new_state, "at": at}
        row = conn.execute(self._release[token is not None], params).mappings().first()
        if row is not None:
            self.event(conn, job_uuid, kind, who, row["claims"], at)
            if kind == "abandoned":
                self.notify(conn, job_uuid)
        return row
