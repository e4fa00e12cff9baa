"""parse_when: what people type for --since/--until, and the times no datetime can hold."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from recorder.exceptions import InvalidArgument
from recorder.query.when import parse_when

NOW = datetime(2024, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", datetime(2024, 11, 26, 10, 0, tzinfo=timezone.utc)),
        ("2024-11-26T10:00:00+01:00", datetime(2024, 11, 26, 9, 0, tzinfo=timezone.utc)),
        ("9999-12-31T23:59:59+00:00", datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_ages_and_iso_times(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "0001-01-01T00:00+00:01"]
)
def test_a_time_outside_the_utc_range_is_a_one_line_error(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"--until: .* outside the times") as caught:
        parse_when(text, now=NOW, option="--until")
    assert "\n" not in str(caught.value)


def test_an_age_older_than_year_1_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="cannot read '999999999w'"):
        parse_when("999999999w", now=NOW)
