"""The transitions hash chain: what each row's hash is, and :func:`verify_chain`.

Every transition row of a flow carries ``seq`` (1, 2, 3, ... with no gaps),
``prev_hash`` (the previous row's ``hash``; 64 zeros for the first row) and
``hash``: the SHA-256 hex digest of the canonical JSON of the row's fields
(:data:`HASHED_FIELDS`, keys sorted, no spaces, ASCII only, ``at`` as
ISO-8601 UTC with microseconds, ``prev_hash`` included). So a row that was
altered, deleted, inserted or moved breaks the chain at that row's ``seq``.

What the chain cannot show on its own (rows cut off the *end*, a forger who
recomputes every later hash) :func:`recorder.audit.verify_flow` checks too.
:func:`verify_chain` is pure: any row-like objects (attributes or mapping keys).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from recorder.persistence.encoding import json_text_encoder
from recorder.persistence.rows import FIELD_NAMES
from recorder.persistence.utc_text import utc_isoformat

GENESIS_HASH = "0" * 64
"""``prev_hash`` of a flow's first transition row."""

HASHED_FIELDS: tuple[str, ...] = tuple(name for name in FIELD_NAMES if name != "hash")
"""Every written column of ``transitions`` but ``hash`` itself (a test holds this to the
schema). Its order does not matter: the canonical JSON sorts its keys."""


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
    return _CANONICAL(fields).encode("ascii")


# One encoder for every row: json.dumps with options builds a new one per call.
_CANONICAL = json_text_encoder(ensure_ascii=True, sort_keys=True)


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


_ESCAPE = json.encoder.encode_basestring_ascii
# The canonical JSON of a row, keys in sorted order, for the fields the recorder
# writes. The format is the chain's (see canonical_json): a test holds the two
# byte-for-byte equal over rows of every shape.
_ROW_TEMPLATE = (
    '{"at":"%s","atom_uuid":%s,"attempt":%d,"details":%s,"flow_uuid":%s,"kind":%s,'
    '"name":%s,"new_state":%s,"old_state":%s,"prev_hash":%s,"seq":%d}'
)


def _details_json(details: Mapping[str, Any]) -> str:
    """The canonical JSON of a row's details: a result's summary, the most common
    non-empty details, is written out directly (the same text the encoder gives)."""
    if type(details) is dict and len(details) == 1:
        summary = details.get("result")
        if type(summary) is dict and len(summary) == 2:
            kind, text = summary.get("type"), summary.get("repr")
            if type(kind) is str and type(text) is str:
                return '{"result":{"repr":%s,"type":%s}}' % (_ESCAPE(text), _ESCAPE(kind))
    return _CANONICAL(details)


def fields_hash(
    flow_uuid: str,
    atom_uuid: str | None,
    kind: str,
    name: str,
    old_state: str | None,
    new_state: str,
    at: datetime,
    seq: int,
    attempt: int,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """:func:`row_hash` of a row the recorder is about to write, from its fields.

    The same digest, built without a dict of the fields and a sorting encoder:
    the trail hashes every state change. Values of other types than the
    recorder writes (str subclasses, bools, ...) take :func:`row_hash`'s path.
    """
    if (
        type(seq) is not int
        or type(attempt) is not int
        or type(at) is not datetime
        or at.tzinfo is not timezone.utc
        or type(flow_uuid) is not str
        or type(kind) is not str
        or type(name) is not str
        or type(new_state) is not str
        or type(prev_hash) is not str
        or not (atom_uuid is None or type(atom_uuid) is str)
        or not (old_state is None or type(old_state) is str)
    ):
        return row_hash(
            {
                "flow_uuid": flow_uuid,
                "atom_uuid": atom_uuid,
                "kind": kind,
                "name": name,
                "old_state": old_state,
                "new_state": new_state,
                "at": at,
                "seq": seq,
                "attempt": attempt,
                "details": details,
                "prev_hash": prev_hash,
            }
        )
    text = _ROW_TEMPLATE % (
        utc_isoformat(at),
        "null" if atom_uuid is None else _ESCAPE(atom_uuid),
        attempt,
        _details_json(details) if details else "{}",
        _ESCAPE(flow_uuid),
        _ESCAPE(kind),
        _ESCAPE(name),
        _ESCAPE(new_state),
        "null" if old_state is None else _ESCAPE(old_state),
        _ESCAPE(prev_hash),
        seq,
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


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
