"""Decider depths: how far a graph-flow link's decider reaches (TaskFlow's ``deciders``).

Kept name for name with TaskFlow so that code choosing a depth ports unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from recorder.exceptions import InvalidArgument, InvalidType


class Depth(str, enum.Enum):
    """How many successors of a decided link a decider's "no" ignores."""

    ALL = "ALL"  # every successor, nested flows included (the default)
    FLOW = "FLOW"  # successors in the same flow only
    NEIGHBORS = "NEIGHBORS"  # the next successors only
    ATOM = "ATOM"  # the targeted atom only

    @classmethod
    def translate(cls, desired_depth: Depth | str) -> Depth:  # type: ignore[override]
        """The depth named by ``desired_depth`` (case-insensitive).

        InvalidType (a TypeError) for a non-string, InvalidArgument (a ValueError)
        for an unknown name, as TaskFlow raises TypeError/ValueError there.
        """
        if isinstance(desired_depth, cls):
            return desired_depth
        if not isinstance(desired_depth, str):
            raise InvalidType(
                "Unexpected desired depth type, string type expected, not %s" % type(desired_depth)
            )
        try:
            return cls(desired_depth.upper())
        except ValueError as exc:
            raise InvalidArgument(
                "Unexpected decider depth value, one of %s (case-insensitive) is expected"
                " and not '%s'" % (sorted(d.name for d in cls), desired_depth)
            ) from exc

    def __str__(self) -> str:
        return self.value


# From the widest area of influence to the narrowest.
_ORDERING = (Depth.ALL, Depth.FLOW, Depth.NEIGHBORS, Depth.ATOM)


def pick_widest(depths: Iterable[Depth]) -> Depth:
    """The depth with the widest area of influence; ValueError for none or a non-depth."""
    return _ORDERING[min(_ORDERING.index(d) for d in depths)]
