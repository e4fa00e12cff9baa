"""The text of a state change's time, formatted once for every place that writes it.

A recorded state change carries one aware UTC datetime (``Transition.at``). Its
text goes into the trail row's hash (ISO-8601 with a ``T``), and on SQLite into
the trail row and the atom's ``updated_at`` (a space for the ``T``). Formatting
a datetime costs more than the rest of building those parameters, so the last
datetime formatted is remembered by identity and its text is reused. No
SQLAlchemy here: the chain's hashing imports it.
"""

from __future__ import annotations

from datetime import datetime

_last_formatted: tuple[datetime | None, str] = (None, "")
_last_sqlite: tuple[datetime | None, str] = (None, "")


def utc_isoformat(at: datetime) -> str:
    """``at.isoformat(timespec="microseconds")``, for an aware UTC datetime."""
    global _last_formatted
    last = _last_formatted  # (read once: another thread may replace it meanwhile)
    if last[0] is at:
        return last[1]
    # (isoformat() parses no keyword, a third of its cost; it drops a zero microsecond)
    text = at.isoformat() if at.microsecond else at.isoformat(timespec="microseconds")
    _last_formatted = (at, text)
    return text


def sqlite_utc_text(at: datetime) -> str:
    """``at.isoformat(" ", "microseconds")`` (SQLite's stored text), for an aware UTC
    datetime: :func:`utc_isoformat`'s text with a space for the ``T`` (remembered the
    same way: a state change's trail row and its update both carry it)."""
    global _last_sqlite
    last = _last_sqlite
    if last[0] is at:
        return last[1]
    text = utc_isoformat(at)
    text = text[:10] + " " + text[11:]
    _last_sqlite = (at, text)
    return text
