"""The transitions hash chain, and :func:`verify_flow`: the one check of a recorded flow.

Every transition row of a flow carries ``seq`` (1, 2, 3, ... with no gaps),
``prev_hash`` (the previous row's ``hash``; 64 zeros for the first row) and
``hash``: the SHA-256 hex digest of the canonical JSON of the row's fields
(:data:`HASHED_FIELDS`, keys sorted, no spaces, ASCII only, ``at`` as
ISO-8601 UTC with microseconds, ``prev_hash`` included). So a row that was
altered, deleted, inserted or moved breaks the chain at that row's ``seq``.

What the chain cannot show on its own: rows cut off the *end* of a flow, or a
forger who recomputes every later hash. :func:`verify_flow` therefore also
holds the flow's stored state against its trail
(:mod:`recorder.audit_states`), and takes ``expected_head`` (a ``(seq, hash)``
kept somewhere else, e.g. by ``recorder verify --save-heads``): the row at
that seq must carry that hash, and the chain must reach it.

:func:`verify_chain` is pure (any row-like objects: attributes or mapping keys);
:func:`verify_flow` reads a flow from a backend or a database and checks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from recorder.exceptions import InvalidArgument

if TYPE_CHECKING:
    from recorder.audit_states import StoredFlow

GENESIS_HASH = "0" * 64
"""``prev_hash`` of a flow's first transition row."""

HASHED_FIELDS = (
    "flow_uuid",
    "atom_uuid",
    "kind",
    "name",
    "old_state",
    "new_state",
    "at",
    "seq",
    "attempt",
    "details",
    "prev_hash",
)


def canonical_at(at: datetime | str) -> str:
    """``at`` as ISO-8601 UTC with microseconds (a naive datetime is taken as UTC)."""
    if type(at) is datetime and at.tzinfo is timezone.utc:  # what the recorder makes
        return at.isoformat(timespec="microseconds")
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: sorted keys, compact, ASCII, no NaN."""
    return _CANONICAL.encode(fields).encode("ascii")


# One encoder for every row: json.dumps with options builds a new one per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def field_value(row: Any, name: str) -> Any:
    """``row.name`` or ``row[name]``: rows come as objects or as mappings."""
    if isinstance(row, Mapping):
        return row[name]
    return getattr(row, name)


def _details(value: Any) -> Any:
    if isinstance(value, str):  # a JSON column read back as text
        return json.loads(value)
    return {} if value is None else value


def row_hash(row: Any) -> str:
    """The hash a row should carry, computed from its fields (including ``prev_hash``)."""
    if isinstance(row, Mapping):  # decided once: this runs for every recorded transition
        fields = {name: row[name] for name in HASHED_FIELDS}
    else:
        fields = {name: getattr(row, name) for name in HASHED_FIELDS}
    fields["at"] = canonical_at(fields["at"])
    fields["details"] = _details(fields["details"])
    return hashlib.sha256(canonical_json(fields)).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a check: ``first_bad_seq`` is where it breaks (None when ok, or when
    the break is between the stored state and the trail rather than at a row).

    ``head`` is the ``(seq, hash)`` of the last row checked (None without rows);
    ``has_trail`` is False for a flow that was never recorded with a trail.
    """

    ok: bool
    first_bad_seq: int | None
    reason: str
    checked: int = 0
    head: tuple[int, str] | None = field(default=None, repr=False, compare=False)
    has_trail: bool = field(default=True, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.ok


def verify_chain(rows: Iterable[Any], expected_head: tuple[int, str] | None = None) -> VerifyResult:
    """Check one flow's rows, in stored order, against the seq and hash rules.

    The first problem found is reported: a gap (``first_bad_seq`` is the missing
    seq), a seq out of place (a duplicate, inserted or reordered row: its seq),
    a ``prev_hash`` that is not the previous row's hash, a ``hash`` that does not
    match the row's fields (altered), a row of another flow, or, given
    ``expected_head``, a row at its seq with another hash (rewritten and
    rehashed) or a chain that ends before it (cut). A chain that grew past the
    anchored head is fine.
    """
    head_seq, head_hash = expected_head if expected_head is not None else (0, GENESIS_HASH)
    expected = 1
    prev = GENESIS_HASH
    flow_uuid: Any = None
    checked = 0
    for row in rows:
        seq = field_value(row, "seq")
        if checked == 0:
            flow_uuid = field_value(row, "flow_uuid")
        elif field_value(row, "flow_uuid") != flow_uuid:
            return VerifyResult(False, seq, "row %s belongs to another flow" % seq, checked)
        if seq != expected:
            if isinstance(seq, int) and seq > expected:
                reason = "row %d is missing (the next row has seq %d)" % (expected, seq)
                return VerifyResult(False, expected, reason, checked)
            reason = "row with seq %s where seq %d belongs (duplicate, inserted or moved)" % (
                seq,
                expected,
            )
            return VerifyResult(False, seq, reason, checked)
        if field_value(row, "prev_hash") != prev:
            reason = "row %d: prev_hash is not the hash of row %d" % (seq, seq - 1)
            return VerifyResult(False, seq, reason, checked)
        stored = field_value(row, "hash")
        if row_hash(row) != stored:
            reason = "row %d: hash does not match its contents (altered)" % seq
            return VerifyResult(False, seq, reason, checked)
        if seq == head_seq and stored != head_hash:
            reason = "row %d: hash differs from the anchored head" % seq
            return VerifyResult(False, seq, reason, checked)
        prev = stored
        expected += 1
        checked += 1
    last = expected - 1
    if last < head_seq:
        reason = "rows %d..%d are missing (the chain ends at %d)" % (last + 1, head_seq, last)
        return VerifyResult(False, last + 1, reason, checked)
    head = (last, prev) if checked else None
    return VerifyResult(True, None, "ok: %d rows" % checked, checked, head)


def verify_flow(
    source: Any, flow_uuid: str, expected_head: tuple[int, str] | None = None
) -> VerifyResult:
    """Check ``flow_uuid`` as recorded in ``source``: its chain, then its stored state.

    :func:`verify_chain` first (with ``expected_head`` when given), then
    :func:`recorder.audit_states.check_states`: flow and atom states and attempt
    counts must be what the trail's last rows say, and a flow whose meta says it
    was recorded must have a trail. ``source``: a
    :class:`~recorder.persistence.memory.MemoryBackend`, a database URL (opened
    with :func:`recorder.persistence.connect`, so a database without the schema
    is refused), an SQLAlchemy Engine or Connection, or an object with such an
    ``engine`` attribute (the SQL backend; flushed first). Raises NotFound when
    the flow is neither stored nor has rows.
    """
    from recorder.audit_states import check_states

    flow, rows = read_flow(source, flow_uuid)
    chain = verify_chain(rows, expected_head)
    if not chain.ok:
        return chain
    return check_states(flow_uuid, flow, rows, chain)


def read_transitions(source: Any, flow_uuid: str) -> Sequence[Any]:
    """A flow's transition rows in stored order (insertion order, ``id`` in SQL)."""
    return read_flow(source, flow_uuid)[1]


def read_flow(source: Any, flow_uuid: str) -> tuple[StoredFlow | None, Sequence[Any]]:
    """What :func:`verify_flow` checks: the stored flow (None if absent) and its rows."""
    rows = getattr(source, "transitions", None)
    if isinstance(rows, list):
        from recorder.audit_states import stored_from_detail

        found = [row for row in list(rows) if row.flow_uuid == flow_uuid]
        flows = getattr(source, "flows", None)
        detail = flows.get(flow_uuid) if isinstance(flows, dict) else None
        return (None if detail is None else stored_from_detail(detail)), found
    return _read_sql(source, flow_uuid)


def _read_sql(source: Any, flow_uuid: str) -> tuple[StoredFlow | None, list[Any]]:
    # SQLAlchemy is imported only when a database is asked for.
    from sqlalchemy.engine import URL, Connection, Engine

    from recorder.query.integrity import read_stored, snapshot

    if isinstance(source, (str, URL)):
        from recorder.persistence import connect

        with connect(source) as backend, backend.engine.connect() as conn:
            return read_stored(snapshot(conn), flow_uuid)
    bind: Any = source
    if not isinstance(source, (Engine, Connection)):
        flush = getattr(source, "flush", None)
        if callable(flush):  # a batched backend may still hold rows
            flush()
        bind = getattr(source, "engine", None)
        if not isinstance(bind, (Engine, Connection)):
            raise InvalidArgument(
                "cannot read transitions from %r: give a MemoryBackend, a database URL, "
                "an SQLAlchemy Engine/Connection or a backend with an 'engine'" % (source,)
            )
    if isinstance(bind, Connection):
        return read_stored(bind, flow_uuid)
    with bind.connect() as conn:
        return read_stored(snapshot(conn), flow_uuid)
