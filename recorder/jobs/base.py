"""TaskFlow's job board vocabulary: :class:`JobPriority`, the :class:`Job` and
:class:`JobBoard` interfaces, and the ``who`` check every claim-like call makes.

Same names, signatures and rules as ``taskflow.jobs.base``, so a conductor or a
test written for TaskFlow's boards runs against recorder's SQL board
(:mod:`recorder.jobs.backends.impl_sql`). Jobs move UNCLAIMED -> CLAIMED ->
COMPLETE (``recorder.states.JOB_TRANSITIONS``); a CLAIMED job goes back to
UNCLAIMED when abandoned.
"""

from __future__ import annotations

import abc
import enum
import functools
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from recorder import states
from recorder.exceptions import InvalidArgument, InvalidType

_F = TypeVar("_F", bound=Callable[..., Any])


class JobPriority(enum.Enum):
    """How urgent a job is; claims take the most urgent, then the oldest, first."""

    VERY_HIGH = "VERY_HIGH"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"
    VERY_LOW = "VERY_LOW"

    @classmethod
    def convert(cls, value: JobPriority | str) -> JobPriority:
        """A priority from itself or its name (any case); InvalidArgument otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).upper()) if isinstance(value, str) else cls(value)
        except ValueError:
            raise InvalidArgument(
                "'%s' is not a valid priority, valid priorities are %s"
                % (value, [p.value for p in cls])
            ) from None

    @classmethod
    def reorder(cls, *values: tuple[JobPriority | str, Any]) -> Any:
        """``(priority, value)`` pairs -> the values, most urgent first (stable)."""
        if not values:
            raise InvalidArgument("At least one (priority, value) pair is required")
        if len(values) == 1:
            cls.convert(values[0][0])
            return values[0][1]
        ranked = sorted(
            enumerate(values), key=lambda item: (-cls.convert(item[1][0]).rank, item[0])
        )
        return tuple(value for _, (_, value) in ranked)

    @property
    def rank(self) -> int:
        """The stored number: VERY_HIGH 4 ... VERY_LOW 0 (higher is claimed first)."""
        return _RANKS[self]

    @classmethod
    def from_rank(cls, rank: int) -> JobPriority:
        for priority, value in _RANKS.items():
            if value == rank:
                return priority
        return cls.NORMAL


_RANKS = {
    JobPriority.VERY_HIGH: 4,
    JobPriority.HIGH: 3,
    JobPriority.NORMAL: 2,
    JobPriority.LOW: 1,
    JobPriority.VERY_LOW: 0,
}


class Job(abc.ABC):
    """A piece of work posted on a board: a name, details, and usually a logbook
    and flow to run (``details['flow_uuid']``, ``book_uuid``)."""

    def __init__(
        self,
        board: JobBoard,
        name: str,
        uuid: str,
        details: dict[str, Any] | None = None,
        backend: Any = None,
        book: Any = None,
        book_data: dict[str, Any] | None = None,
    ) -> None:
        self._board = board
        self._name = name
        self._uuid = uuid
        self._details = dict(details or {})
        self._backend = backend
        self._book = book
        self._book_data = dict(book_data or {})

    @property
    @abc.abstractmethod
    def last_modified(self) -> datetime | None:
        """When the job was last changed."""

    @property
    @abc.abstractmethod
    def created_on(self) -> datetime:
        """When the job was posted."""

    @property
    @abc.abstractmethod
    def state(self) -> str:
        """UNCLAIMED, CLAIMED or COMPLETE, read from the board now."""

    @property
    @abc.abstractmethod
    def priority(self) -> JobPriority:
        """The job's :class:`JobPriority`."""

    @property
    def board(self) -> JobBoard:
        return self._board

    def wait(
        self,
        timeout: float | None = None,
        delay: float = 0.01,
        delay_multiplier: float = 2.0,
        max_delay: float = 1.0,
        sleep_func: Callable[[float], None] = time.sleep,
    ) -> bool:
        """True once the job is COMPLETE, False if ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state != states.COMPLETE:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                delay = min(delay, left)
            sleep_func(delay)
            delay = min(delay * delay_multiplier, max_delay)
        return True

    @property
    def book(self) -> Any:
        """The job's logbook, loaded from the persistence backend given to the board."""
        if self._book is None:
            self._book = self._load_book()
        return self._book

    @property
    def book_uuid(self) -> str | None:
        if self._book is not None:
            return str(self._book.uuid)
        return self._book_data.get("uuid")

    @property
    def book_name(self) -> str | None:
        if self._book is not None:
            return str(self._book.name)
        return self._book_data.get("name")

    @property
    def uuid(self) -> str:
        return self._uuid

    @property
    def details(self) -> dict[str, Any]:
        return self._details

    @property
    def name(self) -> str:
        return self._name

    def _load_book(self) -> Any:
        book_uuid = self.book_uuid
        if self._backend is None or book_uuid is None:
            return None
        if hasattr(self._backend, "load_logbook"):
            return self._backend.load_logbook(book_uuid)
        conn = self._backend.get_connection()
        try:
            return conn.get_logbook(book_uuid)
        finally:
            conn.close()

    def __str__(self) -> str:
        return "%s: %s (priority=%s, uuid=%s, details=%s)" % (
            type(self).__name__,
            self.name,
            self.priority,
            self.uuid,
            self.details,
        )


class JobBoard(abc.ABC):
    """Where jobs are posted and claimed (TaskFlow's ``JobBoard`` interface)."""

    def __init__(self, name: str, conf: dict[str, Any]) -> None:
        self._name = name
        self._conf = conf

    @property
    def name(self) -> str:
        return self._name

    @abc.abstractmethod
    def iterjobs(self, only_unclaimed: bool = False, ensure_fresh: bool = False) -> Iterator[Job]:
        """The board's jobs, most urgent and oldest first."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> Iterator[Job]:
        """Block until a job can be claimed; NotFound after ``timeout`` seconds."""

    @property
    @abc.abstractmethod
    def job_count(self) -> int:
        """How many jobs are on the board (not consumed nor trashed)."""

    @abc.abstractmethod
    def find_owner(self, job: Job) -> str | None:
        """Who holds the claim on ``job``, or None."""

    @abc.abstractmethod
    def consume(self, job: Job, who: str) -> None:
        """Mark ``job`` COMPLETE; only its owner may."""

    @abc.abstractmethod
    def post(
        self,
        name: str,
        book: Any = None,
        details: dict[str, Any] | None = None,
        priority: JobPriority | str = JobPriority.NORMAL,
    ) -> Job:
        """Put a new UNCLAIMED job on the board."""

    @abc.abstractmethod
    def claim(self, job: Job, who: str) -> None:
        """Take ``job`` for ``who``; UnclaimableJob if someone else holds it."""

    @abc.abstractmethod
    def abandon(self, job: Job, who: str) -> None:
        """Give ``job`` back (UNCLAIMED) so another worker can claim it."""

    @abc.abstractmethod
    def trash(self, job: Job, who: str) -> None:
        """Take ``job`` off the board for good, without running it again."""

    @abc.abstractmethod
    def register_entity(self, entity: Any) -> None:
        """Record an entity (a conductor) working with this board."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """Whether the board is connected."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the board's connection(s)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the board's connection(s); its jobs cannot be read any more."""


def check_who(meth: _F) -> _F:
    """Refuse a ``who`` that is not a non-empty string, as TaskFlow's boards do."""

    @functools.wraps(meth)
    def wrapper(self: Any, job: Any, who: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(who, str):
            raise InvalidType("Job applicant must be a string type")
        if not who:
            raise InvalidArgument("Job applicant must be non-empty")
        return meth(self, job, who, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
