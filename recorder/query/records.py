"""The records reads return: one frozen type per table row, plus paging types.

A transitions row is :class:`~recorder.persistence.rows.TransitionRow`, the type
every reader of that table gets (also under its older names here).

Kept apart from the queries in :mod:`recorder.query.reads` so code that only
handles results (renderers, user code) need not import SQL.
"""

from __future__ import annotations

import base64
import binascii
import uuid as uuidlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, NamedTuple, TypeVar

from recorder.exceptions import InvalidArgument
from recorder.persistence.rows import TransitionRow
from recorder.query.model import JSON, iso

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class FlowRecord:
    """A flow_details row (``meta`` decoded)."""

    uuid: str
    name: str
    state: str | None
    logbook_uuid: str
    created_at: datetime
    updated_at: datetime | None
    meta: Mapping[str, Any]

    def to_json(self) -> JSON:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "state": self.state,
            "logbook_uuid": self.logbook_uuid,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class AtomRecord:
    """An atom_details row; ``failure`` is the stored failure dict (or None)."""

    uuid: str
    flow_uuid: str
    name: str
    kind: str
    state: str | None
    intention: str
    attempt: int
    meta: Mapping[str, Any]
    failure: Any
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class FlowCursor:
    """Where a page of flows ended: pass it as ``after`` to get the next page.

    ``encode()`` gives a short token (for ``recorder flows --after``): the
    creation time in hex microseconds, a dot, the uuid without dashes.
    """

    created_at: datetime
    uuid: str

    def encode(self) -> str:
        micros = int((self.created_at - _EPOCH) / timedelta(microseconds=1))
        try:
            canonical = str(uuidlib.UUID(self.uuid)) == self.uuid
        except ValueError:
            canonical = False
        if canonical:
            ident = self.uuid.replace("-", "")
        else:
            ident = "~" + base64.urlsafe_b64encode(self.uuid.encode()).decode().rstrip("=")
        return "%x.%s" % (micros, ident)

    @classmethod
    def decode(cls, token: str) -> FlowCursor:
        try:
            stamp, ident = token.strip().split(".", 1)
            created = _EPOCH + timedelta(microseconds=int(stamp, 16))
            if ident.startswith("~"):
                padded = ident[1:] + "=" * (-len(ident[1:]) % 4)
                uuid = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
            else:
                uuid = str(uuidlib.UUID(hex=ident))
            return cls(created, uuid)
        except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
            raise InvalidArgument("not a page token from `recorder flows`: %r" % token) from exc


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results; ``next`` is None on the last page."""

    items: tuple[T, ...]
    next: FlowCursor | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


TransitionRecord = TransitionRow
"""A transitions row: the one read type of the table (:mod:`recorder.persistence.rows`)."""

TimelineRow = TransitionRow
"""What :func:`~recorder.query.reads.timeline_rows` returns: the same read type."""


class AtomName(NamedTuple):
    """An atom's identity and state: enough to list atoms that have not run yet."""

    name: str
    uuid: str
    kind: str
    state: str | None
