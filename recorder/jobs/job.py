"""A job on the SQL board: its posted facts are kept, its state is read live."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import RowMapping

from recorder import states
from recorder.jobs.base import Job, JobPriority
from recorder.jobs.sql import TRASHED

if TYPE_CHECKING:
    from recorder.jobs.backends.impl_sql import SQLJobBoard


class SQLJob(Job):
    """A job on an :class:`SQLJobBoard`; ``state`` and ``last_modified`` are read live."""

    def __init__(self, board: SQLJobBoard, row: RowMapping, backend: Any = None) -> None:
        book_data = {"uuid": row["book_uuid"], "name": row["book_name"]}
        super().__init__(
            board, row["name"], row["uuid"], dict(row["details"] or {}), backend, None, book_data
        )
        self._sql_board = board
        self._created_on: datetime = row["created_at"]
        self._priority = JobPriority.from_rank(row["priority"])
        self.flow_uuid: str | None = row["flow_uuid"]
        self.claims: int = row["claims"]
        """The claim count when this object was read (or claimed through it)."""

    @property
    def created_on(self) -> datetime:
        return self._created_on

    @property
    def last_modified(self) -> datetime | None:
        row = self._sql_board.row_of(self.uuid)
        return None if row is None else row["updated_at"]

    @property
    def stored_state(self) -> str:
        """The state stored now: UNCLAIMED, CLAIMED, COMPLETE or TRASHED."""
        row = self._sql_board.row_of(self.uuid)
        return TRASHED if row is None else str(row["state"])

    @property
    def state(self) -> str:
        stored = self.stored_state
        return states.COMPLETE if stored == TRASHED else stored

    @property
    def priority(self) -> JobPriority:
        return self._priority

    def wait(
        self,
        timeout: float | None = None,
        delay: float = 0.01,
        delay_multiplier: float = 2.0,
        max_delay: float = 0.5,
        sleep_func: Callable[[float], None] = time.sleep,
    ) -> bool:
        return super().wait(timeout, delay, delay_multiplier, max_delay, sleep_func)
