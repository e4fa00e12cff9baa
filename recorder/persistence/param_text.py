"""The texts of the values a prepared op sends: JSON of fields, meta, details, patches.

:class:`~recorder.persistence.statements.Statements` checks and encodes every
value when an op is written (in the caller's thread), so these run for every
state change: the plain values the recorder writes (short texts, finite floats,
ints) skip the general encoder, with the text it would give.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from recorder.exceptions import InvalidArgument
from recorder.persistence import encoding

# Floats whose JSON is their repr and that encode() keeps plain (finite, under 1e16,
# not -0.0; 0.0 takes the general path, which keeps it plain too).
_PLAIN_FLOAT_MIN, _PLAIN_FLOAT_MAX = -1e16, 1e16


def dump_encoded(value: Any) -> str:
    """JSON text of one :func:`encoding.encode`-d value: the text ``encoding.dumps``
    gives, without its encoder for the plain numbers timing meta is made of."""
    kind = type(value)
    if kind is float:  # encode() left only finite floats plain; json writes their repr
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    return encoding.dumps(value)


def opt_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgument("%s must be a string or None, not %r" % (what, value))


# A transition's details as the trail summarizes a result or a failure: one key
# naming a dict of short texts (see recorder.audit.trail.summarize).
_SUMMARY_KINDS = frozenset({"result", "failure"})
_SUMMARY_FIELDS = frozenset({"type", "repr", "message"})
_TEXT = json.encoder.encode_basestring  # a str's JSON text, as encoding.dumps writes it


def details_text(details: Mapping[str, Any]) -> str:
    """JSON text of a transition's details; the trail's summaries are written out
    directly (their keys are known names, their values texts both databases store),
    the same text the general encoder gives."""
    if not details:  # most transitions carry none
        return "{}"
    if type(details) is dict and len(details) == 1:
        ((kind, summary),) = details.items()
        if kind in _SUMMARY_KINDS and type(summary) is dict and len(summary) == 2:
            ((first, first_text), (second, second_text)) = summary.items()
            if (
                first in _SUMMARY_FIELDS
                and second in _SUMMARY_FIELDS
                and type(first_text) is str
                and type(second_text) is str
                and encoding.is_plain_str(first_text)
                and encoding.is_plain_str(second_text)
            ):
                return '{"%s":{"%s":%s,"%s":%s}}' % (
                    kind,
                    first,
                    _TEXT(first_text),
                    second,
                    _TEXT(second_text),
                )
    return meta_text(details)


def json_text(value: Any) -> str | None:
    """A JSON field's text (None stays SQL NULL)."""
    return None if value is None else dump_encoded(encoding.encode(value))


def meta_text(meta: Mapping[str, Any] | None) -> str:
    """A whole meta object's (or details') JSON text."""
    if not meta:  # most transitions carry no details: skip the encoder
        return "{}"
    return encoding.dumps(encoding.encode_meta(meta))


def patch_texts(meta_patch: Mapping[str, Any]) -> dict[str, str]:
    """A meta patch as each key's JSON text (:func:`encoding.encode_meta`'s rules):
    encoded once, used as it is by a SQLite merge and joined into one object for
    PostgreSQL, also when the writer folds several updates of a row. (The keys are
    checked with the update's layout.)"""
    texts: dict[str, str] = {}
    for key, value in meta_patch.items():
        if type(value) is float and _PLAIN_FLOAT_MIN < value < _PLAIN_FLOAT_MAX and value:
            texts[key] = float.__repr__(value)  # (the timing listeners' values)
        else:
            texts[key] = dump_encoded(encoding.encode(value))
    return texts
