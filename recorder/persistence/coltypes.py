"""Column types that behave the same on SQLite and PostgreSQL.

Migrations import these too, so keep them backwards compatible: a change here
changes what old migrations create.

* :class:`UTCDateTime` -- timezone-aware UTC with microseconds. PostgreSQL stores
  ``timestamptz``. SQLite has no time type, so it stores fixed-width text
  ``YYYY-MM-DD HH:MM:SS.ffffff+00:00``: it sorts in time order as text, and
  SQLite's ``julianday()``/``strftime()`` read it (the views compute exact
  durations from it). Naive datetimes are refused rather than guessed at.
* :data:`JSONType` -- JSONB on PostgreSQL (indexable, ``||`` merges), JSON text on
  SQLite in a column declared ``TEXT``. The declared type matters: SQLite gives a
  ``JSON`` column NUMERIC affinity, which turns a stored ``2.0`` into the integer
  2 and ``2**63`` into a float (migration 0005 fixes files made before).
  Python ``None`` is stored as SQL NULL so ``WHERE failure IS NULL`` works;
  ``None`` nested inside a value stays JSON ``null``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import TypeCompiler
from sqlalchemy.types import TypeDecorator, TypeEngine

from recorder.exceptions import InvalidArgument, StorageError

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f+00:00"
SQLITE_TIME_WIDTH = 32


def require_aware(value: datetime, what: str = "time") -> datetime:
    """``value`` converted to UTC; InvalidArgument if it has no timezone."""
    if value.tzinfo is timezone.utc:  # what recorder itself makes: nothing to do
        return value
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidArgument(
            "%s %s is a naive datetime: recorder stores only timezone-aware UTC times "
            "(use datetime.now(timezone.utc))" % (what, value.isoformat())
        )
    return value.astimezone(timezone.utc)


def format_sqlite_time(value: datetime) -> str:
    """The text SQLite stores for an aware datetime."""
    # isoformat gives the same text as SQLITE_TIME_FORMAT once in UTC, twice as fast.
    return require_aware(value).isoformat(" ", "microseconds")


def parse_sqlite_time(text: str) -> datetime:
    """An aware UTC datetime from stored SQLite text (accepts any ISO-8601 offset)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:  # written by hand without an offset: it is UTC by contract
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(SQLITE_TIME_WIDTH))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidArgument("expected a datetime, got %r" % (value,))
        if dialect.name == "sqlite":
            return format_sqlite_time(value)
        return require_aware(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return parse_sqlite_time(value)
            except (ValueError, OverflowError) as exc:  # SQLite keeps any text a hand put there
                raise StorageError("cannot read stored time %r: %s" % (value, exc)) from exc
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=timezone.utc)
            return value.astimezone(timezone.utc)
        raise InvalidArgument("unexpected stored time %r" % (value,))


class JSONText(JSON):
    """SQLAlchemy's JSON, in a column SQLite declares ``TEXT`` (TEXT affinity).

    SQLite then keeps the JSON text exactly as written, top-level numbers too.
    Reads and writes behave as JSON's (``->>``, ``json_extract`` work the same).
    """

    cache_ok = True


@compiles(JSONText, "sqlite")
def _json_text_ddl(type_: JSONText, compiler: TypeCompiler, **kw: Any) -> str:
    return "TEXT"


def json_type() -> TypeEngine[Any]:
    """A fresh JSON column type: JSONB on PostgreSQL, TEXT-affinity JSON text on SQLite."""
    return JSONText(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def json_type_0001() -> TypeEngine[Any]:
    """The JSON column type of migrations 0001-0004: on SQLite a ``JSON`` column,
    which has NUMERIC affinity. Only migrations use it; do not change it."""
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


JSONType = json_type()
