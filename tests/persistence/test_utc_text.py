"""The remembered time texts are the datetime's own isoformat, in both forms."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given

from recorder.persistence.utc_text import sqlite_utc_text, utc_isoformat
from tests.listeners.test_chain_hash import _times


@given(_times)
def test_utc_texts_are_isoformat(at: datetime) -> None:
    assert utc_isoformat(at) == at.isoformat(timespec="microseconds")
    assert sqlite_utc_text(at) == at.isoformat(" ", "microseconds")
    assert utc_isoformat(at) is utc_isoformat(at)  # the same datetime again: remembered
    assert sqlite_utc_text(at) is sqlite_utc_text(at)


def test_another_datetime_is_formatted_anew() -> None:
    first = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    later = first + timedelta(microseconds=1)
    assert utc_isoformat(first) == "2026-01-02T03:04:05.000006+00:00"
    assert utc_isoformat(later) == "2026-01-02T03:04:05.000007+00:00"
    assert sqlite_utc_text(first) == "2026-01-02 03:04:05.000006+00:00"
    assert sqlite_utc_text(later) == "2026-01-02 03:04:05.000007+00:00"


def test_a_whole_second_keeps_its_microseconds() -> None:
    whole = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert utc_isoformat(whole) == "2026-01-02T03:04:05.000000+00:00"
    assert sqlite_utc_text(whole) == "2026-01-02 03:04:05.000000+00:00"
