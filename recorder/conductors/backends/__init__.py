"""Fetch a conductor by kind, as ``taskflow.conductors.backends.fetch``.

``fetch('blocking' | 'nonblocking', name, board, persistence=..., engine=...)``;
other keywords go to the conductor (``engine_options``, ``wait_timeout``,
``max_simultaneous_jobs`` for nonblocking, ``max_claims``, ``idle_exit``).
"""

from __future__ import annotations

from typing import Any

from recorder.conductors.backends.impl_blocking import BlockingConductor
from recorder.conductors.backends.impl_nonblocking import NonBlockingConductor
from recorder.conductors.base import Conductor
from recorder.exceptions import NotFound

KINDS: dict[str, type[Conductor]] = {
    "blocking": BlockingConductor,
    "nonblocking": NonBlockingConductor,
}


def fetch(kind: str, name: str, jobboard: Any, **kwargs: Any) -> Conductor:
    """A conductor of ``kind`` named ``name`` working ``jobboard``."""
    cls = KINDS.get(kind)
    if cls is None:
        raise NotFound("unknown conductor kind %r; use one of: %s" % (kind, ", ".join(KINDS)))
    return cls(name, jobboard, **kwargs)
