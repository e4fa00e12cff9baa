"""Unordered flow: children have no order between them (they may run in parallel)."""

from __future__ import annotations

from recorder import flow


class Flow(flow.Flow):
    """Children run in any order; a child cannot use what a sibling provides."""

    @property
    def requires(self) -> frozenset[str]:
        """What the retry and children need (siblings never provide to each other)."""
        return self._requires_in_order(chained=False)
