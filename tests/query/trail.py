"""Hand-built trails for the pure query tests: :class:`recorder.testing.TrailBuilder`
(rows numbered, attempted and hash-chained as the engine writes them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from recorder.testing import T0, TrailBuilder

Trail = TrailBuilder

__all__ = ["T0", "Trail", "at"]


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds`` (microsecond precision, like the database)."""
    return T0 + timedelta(microseconds=round(seconds * 1_000_000))
