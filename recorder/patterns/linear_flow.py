"""Linear flow: children run one after another, in the order they were added."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from recorder import flow


class Flow(flow.Flow):
    """Runs its children in order; each waits for the one before it."""

    def iter_links(self) -> Iterator[tuple[flow.Item, flow.Item, dict[str, Any]]]:
        children = [child for child in self if not (isinstance(child, flow.Flow) and _empty(child))]
        for before, after in itertools.pairwise(children):
            yield before, after, {"invariant": True}

    @property
    def requires(self) -> frozenset[str]:
        """What children need that neither the retry nor an earlier child provides."""
        return self._requires_in_order(chained=True)


def _empty(item: flow.Flow) -> bool:
    return item.retry is None and all(
        isinstance(child, flow.Flow) and _empty(child) for child in item
    )
