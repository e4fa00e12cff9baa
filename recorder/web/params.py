"""Query-string filters, read the way the CLI reads its options (same names, same errors).

``/?name=order-*&state=REVERTED&since=2h&limit=50&after=TOKEN`` means what
``recorder flows --name 'order-*' --state REVERTED --since 2h --limit 50 --after TOKEN``
means; a bad value is an InvalidArgument naming the parameter (a 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.datastructures import QueryParams

from recorder.exceptions import InvalidArgument
from recorder.query.reads import list_flows
from recorder.query.records import FlowCursor, FlowRecord, Page
from recorder.query.when import parse_when

DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


def _when(params: QueryParams, key: str) -> datetime | None:
    value = params.get(key) or None
    return None if value is None else parse_when(value, option=key)


def integer(params: QueryParams, key: str, default: int, low: int, high: int) -> int:
    text = params.get(key) or None
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise InvalidArgument("%s must be a whole number, not %r" % (key, text)) from exc
    if not low <= value <= high:
        raise InvalidArgument("%s must be between %d and %d, not %d" % (key, low, high, value))
    return value


@dataclass(frozen=True)
class FlowFilter:
    """What the flows page and ``/api/flows`` filter and page by."""

    name: str | None
    states: tuple[str, ...]
    since: str | None
    until: str | None
    limit: int
    after: str | None

    @classmethod
    def parse(cls, params: QueryParams) -> FlowFilter:
        found = cls(
            name=params.get("name") or None,
            states=tuple(s.upper() for s in params.getlist("state") if s),
            since=params.get("since") or None,
            until=params.get("until") or None,
            limit=integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            after=params.get("after") or None,
        )
        found._times()  # refuse a bad time or token now, with the parameter's name
        if found.after:
            FlowCursor.decode(found.after)
        return found

    def _times(self) -> tuple[datetime | None, datetime | None]:
        since = parse_when(self.since, option="since") if self.since else None
        return since, parse_when(self.until, option="until") if self.until else None

    def page(self, conn: Connection) -> Page[FlowRecord]:
        """The page of flows these filters select (:func:`recorder.query.reads.list_flows`)."""
        since, until = self._times()
        return list_flows(
            conn,
            name=self.name,
            state=list(self.states) or None,
            since=since,
            until=until,
            limit=self.limit,
            after=FlowCursor.decode(self.after) if self.after else None,
        )

    def query_string(self, *, after: str | None = None, limit: bool = True) -> str:
        """These filters as a query string, with ``after`` in place of this page's."""
        pairs: list[tuple[str, str]] = []
        if self.name:
            pairs.append(("name", self.name))
        pairs.extend(("state", s) for s in self.states)
        pairs += [(k, v) for k, v in (("since", self.since), ("until", self.until)) if v]
        if limit and self.limit != DEFAULT_LIMIT:
            pairs.append(("limit", str(self.limit)))
        if after:
            pairs.append(("after", after))
        return urlencode(pairs)

    @property
    def filtered(self) -> bool:
        return bool(self.name or self.states or self.since or self.until)


def window(params: QueryParams) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` of a stats request."""
    return _when(params, "since"), _when(params, "until")
