"""The one SELECT of a flow's transitions trail, and its mapper to :class:`TransitionRow`.

Every reader of whole rows goes through :func:`read_trail` -- the SQL backend's
``load_transitions``, verify, the query layer's ``transitions_of`` and timelines
-- so they all see the same row, in the same (``seq``) order. The columns come
from :data:`~recorder.persistence.schema.TRANSITION_COLUMNS`.

It is the hot path of ``recorder timeline``, so the values skip SQLAlchemy's
per-value type processing: ``details`` is read as JSON text and parsed here
(most rows carry ``{}``), SQLite's time text is parsed directly. What comes
back is what :mod:`recorder.persistence.encoding` stored, decoded.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, Text, and_, cast, select, type_coerce
from sqlalchemy.engine import Connection

from recorder.exceptions import StorageError
from recorder.persistence import encoding
from recorder.persistence.coltypes import parse_sqlite_time
from recorder.persistence.rows import TransitionRow
from recorder.persistence.schema import TRANSITION_COLUMNS, transitions

_AT = TRANSITION_COLUMNS.index("at")
_DETAILS = TRANSITION_COLUMNS.index("details")


def trail_select(
    dialect: str, flow_uuid: str, after_seq: int | None = None, limit: int | None = None
) -> Any:
    """The SELECT of ``flow_uuid``'s rows (after ``after_seq``), in ``seq`` order, + ``id``."""
    t = transitions.c
    columns: list[Any] = [t[name] for name in TRANSITION_COLUMNS]
    if dialect == "sqlite":
        columns[_AT] = type_coerce(t.at, String).label("at")
    columns[_DETAILS] = cast(t.details, Text).label("details")
    where = t.flow_uuid == flow_uuid
    if after_seq is not None:
        where = and_(where, t.seq > after_seq)
    stmt = select(*columns, t.id).where(where).order_by(t.seq)
    return stmt if limit is None else stmt.limit(limit)


def _details(text: Any) -> dict[str, Any]:
    if text is None or text == "{}":
        return {}
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except ValueError as exc:  # SQLite keeps any text a hand put there
            raise StorageError("cannot read stored JSON %.40r: %s" % (text, exc)) from exc
    return encoding.decode_meta(text)


def read_trail(
    conn: Connection, flow_uuid: str, *, after_seq: int | None = None, limit: int | None = None
) -> list[TransitionRow]:
    """``flow_uuid``'s transitions rows in ``seq`` order (after ``after_seq``: keyset paging)."""
    sqlite = conn.dialect.name == "sqlite"
    result = conn.execute(trail_select(conn.dialect.name, flow_uuid, after_seq, limit))
    rows: list[TransitionRow] = []
    for values in result:
        facts = list(values)
        if sqlite:
            try:
                facts[_AT] = parse_sqlite_time(facts[_AT])
            except (ValueError, TypeError) as exc:  # SQLite keeps any text a hand put there
                raise StorageError(
                    "cannot read stored time of flow %s: %s" % (flow_uuid, exc)
                ) from exc
        facts[_DETAILS] = _details(facts[_DETAILS])
        rows.append(TransitionRow(*facts))  # the last value read is the id
    return rows
