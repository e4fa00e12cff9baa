"""The write path's JSON text is exactly the standard encoder's, byte for byte.

Stored meta, results and the hash chain's canonical JSON are made by encoders
built once (:func:`recorder.persistence.encoding.json_text_encoder`) and by a
shortcut for plain numbers in meta merges; a stored chain must still verify,
so their text may not differ from ``json.dumps`` with the same options.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.audit.chain import canonical_json
from recorder.persistence import encoding
from recorder.persistence.param_text import details_text, dump_encoded, meta_text, patch_texts

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_values)
def test_dumps_is_the_standard_compact_text(value: Any) -> None:
    stored = encoding.encode(value)
    expected = json.dumps(stored, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert encoding.dumps(stored) == expected
    assert dump_encoded(stored) == expected


@given(st.dictionaries(st.text(), _values, max_size=6))
def test_canonical_json_is_the_standard_sorted_ascii_text(fields: dict[str, Any]) -> None:
    stored = encoding.encode(fields)
    expected = json.dumps(
        stored, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    assert canonical_json(stored) == expected.encode("ascii")


@pytest.mark.parametrize("bad", [float("nan"), {"x": float("inf")}, [float("-inf")]])
def test_what_json_cannot_write_is_refused_as_before(bad: Any) -> None:
    with pytest.raises(ValueError):
        encoding.dumps(bad)
    with pytest.raises(ValueError):
        canonical_json({"details": bad})


_summaries = st.dictionaries(
    st.sampled_from(["result", "failure", "resumed", "other"]),
    st.dictionaries(st.sampled_from(["type", "repr", "message", "__recorder__"]), _values)
    | _values,
    max_size=2,
)


@given(_summaries)
def test_transition_details_text_is_the_general_encoders(details: dict[str, Any]) -> None:
    assert details_text(details) == meta_text(details)


@given(
    st.sampled_from(["result", "failure"]),
    st.lists(st.sampled_from(["type", "repr", "message"]), min_size=2, max_size=2, unique=True),
    st.lists(st.text(), min_size=2, max_size=2),
)
def test_a_trail_summary_written_out_directly_is_the_general_encoders_text(
    kind: str, names: list[str], texts: list[str]
) -> None:
    """The trail's summaries (two short texts under one key) skip the encoder, so any
    text at all (quotes, control characters, NULs, lone surrogates) must come out as
    the encoder would write it."""
    details = {kind: dict(zip(names, texts, strict=True))}
    assert details_text(details) == meta_text(details)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.text())
def test_meta_patch_texts_are_the_general_encoders(value: Any) -> None:
    texts = patch_texts({"k": value})
    assert texts == {"k": dump_encoded(encoding.encode(value))}
