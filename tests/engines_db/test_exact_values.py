"""Every JSON value a flow stores reads back equal and of the same type, on both
databases: results, store and meta, written by a real engine and loaded back."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.values import same, store_everywhere

EXACT = [
    2.0,
    -0.0,
    0.1,
    5e-324,
    1e-7,
    9999999999999998.0,
    1e16,
    1e300,
    math.inf,
    -math.inf,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**30,
    10**4299,
    10**4300,
    -(10**5000),
    "3.0e+5",
    "ünïcode 😀 \u2028",
    [2.0, [10**30, -0.0]],
    {"x": 2.0, "y": 2**64, "z": {"deep": [1e-7]}},
]


def _id(value: Any) -> str:
    if type(value) is int and value.bit_length() > 64:
        return "int of %d bits" % value.bit_length()  # repr() of 4301+ digits raises
    return repr(value)[:24]


@pytest.mark.parametrize("value", EXACT, ids=_id)
def test_values_read_back_exactly(db_url: str, value: Any) -> None:
    stored = store_everywhere(db_url, value)
    for where, got in stored.all().items():
        assert same(got, value), "%s: wrote %r, read back %r" % (where, value, got)


def test_nan_reads_back_as_nan(db_url: str) -> None:
    stored = store_everywhere(db_url, math.nan)
    assert all(type(got) is float and math.isnan(got) for got in stored.all().values())


big_ints = st.builds(
    lambda mantissa, exponent, sign: sign * mantissa * 10**exponent,
    st.integers(1, 10**6),
    st.integers(12, 5000),  # past 4300 digits: stored tagged, still exact
    st.sampled_from([1, -1]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**66),
    big_ints,
    st.floats(),
    st.sampled_from([-0.0, 0.0, 2.0, 1e16, 1e-300]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values)
def test_any_json_value_reads_back_exactly(db_url: str, value: Any) -> None:
    stored = store_everywhere(db_url, value)
    for where, got in stored.all().items():
        assert same(got, value), "%s: wrote %r, read back %r" % (where, value, got)
