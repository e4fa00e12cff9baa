"""The trail's repr of a result: its fast path for plain scalars is reprlib's text."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recorder.audit import trail

_scalars = (
    st.integers()
    | st.integers(min_value=2**120, max_value=10**45)
    | st.integers(min_value=-(10**45), max_value=-(2**120))
    | st.text(max_size=260)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
)


@given(_scalars)
def test_scalar_results_read_as_reprlib_gives_them(value: Any) -> None:
    assert trail._safe_repr(value) == trail._REPR.repr(value)


def test_a_long_result_is_still_cut() -> None:
    long_int, long_text = 10**300, "x" * 1000
    assert trail._safe_repr(long_int) == trail._REPR.repr(long_int) != repr(long_int)
    assert trail._safe_repr(long_text) == trail._REPR.repr(long_text) != repr(long_text)


def test_a_result_too_large_to_repr_is_named_not_raised() -> None:
    huge = 10**5000  # over Python's limit on int-to-text conversion
    assert trail._safe_repr(huge) == "<int object, repr() failed: ValueError>"
