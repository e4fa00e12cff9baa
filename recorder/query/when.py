"""Read the times people type (``--since 2h``, ``--since 2024-11-26``) as aware UTC datetimes.

Two forms: an age (``90s``, ``30m``, ``2h``, ``7d``, ``2w``; also ``1.5h``,
``10min``, ``3 days``) counted back from now, or an ISO-8601 date or time
(``2024-11-26``, ``2024-11-26T10:00``, ``2024-11-26 10:00:00+01:00``,
``...Z``); a time without an offset is UTC, as every stored time is.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from recorder.exceptions import InvalidArgument

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]+)$")


def parse_when(text: str, *, now: datetime | None = None, option: str = "--since") -> datetime:
    """``text`` as an aware UTC datetime; InvalidArgument (one line, with examples) if not."""
    value = text.strip()
    now = now or datetime.now(timezone.utc)
    match = _AGE.match(value.lower())
    if match and match.group(2) in _UNITS:
        try:
            return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
        except OverflowError:
            pass
    else:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            try:
                return parsed.astimezone(timezone.utc)
            except OverflowError as exc:  # 9999-12-31T23:59-01:00 is after the last datetime
                raise InvalidArgument(
                    "%s: %r is outside the times recorder can hold (years 1 to 9999 in UTC)"
                    % (option, text)
                ) from exc
    raise InvalidArgument(
        "%s: cannot read %r as a time: give an age (90s, 30m, 2h, 7d, 2w) or an ISO date/time "
        "(2024-11-26, 2024-11-26T10:00, 2024-11-26T10:00:00+01:00; UTC unless an offset is given)"
        % (option, text)
    )
