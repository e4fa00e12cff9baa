"""Results, failures and meta to JSON and back: anything goes in, nothing crashes."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.exceptions import InvalidArgument
from recorder.failure import Failure
from recorder.persistence import encoding
from recorder.persistence.encoding import TAG, StoredRepr


def _round_trip(value: Any) -> Any:
    text = encoding.dumps(encoding.encode(value))
    return encoding.decode(json.loads(text))


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque 7>"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        "",
        "plain",
        "ünïcode 😀",
        [1, [2, [3]]],
        {"a": {"b": None}},
        b"\x00\xffbytes",
        "nul\x00inside",
        "lone \ud800 surrogate",
        {1: "int key", "s": 2},
        {(1, 2): "tuple key"},
        {TAG: "looks like a tag", "x": 1},
        {"nested": {TAG: "failure"}},
        float("inf"),
        -float("inf"),
        1e300,
        {"k\x00ey": 1},
    ],
)
def test_values_round_trip_exactly(value: Any) -> None:
    assert _round_trip(value) == value
    assert type(_round_trip(value)) is type(value)


def test_nan_round_trips_as_nan() -> None:
    assert math.isnan(_round_trip(float("nan")))


def test_tuples_become_lists() -> None:
    assert _round_trip((1, (2, 3))) == [1, [2, 3]]


def test_unstorable_values_become_tagged_reprs() -> None:
    encoded = encoding.encode({"obj": Opaque(), "set": {3}, "when": datetime(2024, 1, 1)})
    assert encoded["obj"] == {TAG: "repr", "type": "%s.Opaque" % __name__, "repr": "<Opaque 7>"}
    assert encoded["set"] == {TAG: "repr", "type": "set", "repr": "{3}"}
    decoded = encoding.decode(json.loads(encoding.dumps(encoded)))
    assert decoded["obj"] == StoredRepr(type="%s.Opaque" % __name__, repr="<Opaque 7>")
    assert str(decoded["when"]) == "datetime.datetime(2024, 1, 1, 0, 0)"
    # A StoredRepr stores as the same tag: resumed flows keep it unchanged.
    assert encoding.encode(decoded["obj"]) == encoded["obj"]


def test_broken_repr_and_self_reference_do_not_crash() -> None:
    broken = encoding.encode(BrokenRepr())
    assert "repr() failed" in broken["repr"]
    loop: list[Any] = [1]
    loop.append(loop)
    encoded = encoding.encode(loop)
    assert encoded[TAG] == "repr"
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    assert encoding.encode(deep)[TAG] == "repr"
    json.dumps(encoded)


def test_huge_repr_is_cut() -> None:
    class Huge:
        def __repr__(self) -> str:
            return "x" * (encoding.MAX_REPR * 2)

    text = encoding.encode(Huge())["repr"]
    assert len(text) < encoding.MAX_REPR + 20 and text.endswith("[cut]")


def test_failure_is_a_queryable_tagged_dict() -> None:
    try:
        raise ValueError("bad", float("nan"))
    except ValueError:
        failure = Failure()
    encoded = encoding.encode({"why": failure})
    assert encoded["why"][TAG] == "failure"
    assert encoded["why"]["exc_type_names"] == ["ValueError", "Exception"]
    assert encoded["why"]["exception_str"] == str(("bad", float("nan")))
    back = _round_trip({"why": failure})["why"]
    assert isinstance(back, Failure)
    assert back.exception_str == failure.exception_str
    assert back.traceback_str == failure.traceback_str
    assert math.isnan(back.exception_args[1])


def test_meta_keys_must_be_plain_strings() -> None:
    assert encoding.encode_meta({"a": {1: 2}}) == {"a": {TAG: "dict", "items": [[1, 2]]}}
    # The top level of meta is never read as a tag, so a key named like the tag is fine.
    assert encoding.decode_meta(encoding.encode_meta({TAG: "x"})) == {TAG: "x"}
    with pytest.raises(InvalidArgument):
        encoding.encode_meta({1: "x"})  # type: ignore[dict-item]
    with pytest.raises(InvalidArgument):
        encoding.encode_meta({"nul\x00": 1})


def test_dumps_refuses_what_databases_refuse() -> None:
    with pytest.raises(ValueError):
        encoding.dumps(float("nan"))  # encode() first, always
    assert encoding.dumps(encoding.encode(float("nan"))) == '{"%s":"float","value":"nan"}' % TAG


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=8)
    | st.datetimes(timezones=st.just(timezone.utc)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_like)
def test_anything_encodes_to_strict_json(value: Any) -> None:
    text = encoding.dumps(encoding.encode(value))  # no NaN, no lone surrogates
    text.encode("utf-8")
    assert "\\u0000" not in text
    encoding.decode(json.loads(text))


def test_ints_past_pythons_digit_limit_are_stored_as_hex() -> None:
    huge = -(10**5000) + 7
    assert encoding.encode(huge) == {TAG: "int", "hex": hex(huge)}
    assert _round_trip({"n": [huge]}) == {"n": [huge]}
    assert encoding.encode(10**4300 - 1) == 10**4300 - 1  # 4300 digits: still a JSON number
    assert encoding.encode(10**4300)[TAG] == "int"
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # a process that lowered the limit still stores it
    try:
        assert _round_trip(10**700) == 10**700
        assert encoding.encode(10**600) == 10**600
    finally:
        sys.set_int_max_str_digits(limit)


def test_negative_zero_keeps_its_sign() -> None:
    assert encoding.encode(-0.0) == {TAG: "float", "value": "-0.0"}
    assert math.copysign(1.0, _round_trip(-0.0)) == -1.0
    assert encoding.encode(0.0) == 0.0


class FailingMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no items")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no keys")

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "<FailingMapping>"


def test_values_whose_own_methods_raise_become_repr_tags() -> None:
    encoded = encoding.encode({"m": FailingMapping()})
    assert encoded["m"] == {
        TAG: "repr",
        "type": "%s.FailingMapping" % __name__,
        "repr": "<FailingMapping>",
    }
