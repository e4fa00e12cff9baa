"""The audit trail: the hash chain, the hook that writes it, and verify.

* :mod:`.chain` -- each row's hash and :func:`verify_chain` (pure);
* :mod:`.trail` -- :class:`~recorder.audit.trail.TransitionRecorder`, the
  storage hook that writes one hash-chained row per state change;
* :mod:`.consistency` -- the stored state held against the trail;
* :mod:`.verify` -- :func:`verify_flow`, the one check of a recorded flow;
* :mod:`.heads` -- flow heads anchored outside the database.

The names of the chain and of verify are importable from here.
"""

from __future__ import annotations

from recorder.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    VerifyResult,
    canonical_at,
    canonical_json,
    field_value,
    row_hash,
    verify_chain,
)
from recorder.audit.verify import read_flow, read_transitions, verify_flow

__all__ = [
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "VerifyResult",
    "canonical_at",
    "canonical_json",
    "field_value",
    "read_flow",
    "read_transitions",
    "row_hash",
    "verify_chain",
    "verify_flow",
]
