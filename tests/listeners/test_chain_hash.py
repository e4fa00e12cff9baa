"""The trail's fast row hash is the chain's hash, byte for byte, for rows of every shape."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recorder.audit.chain import HASHED_FIELDS, fields_hash, row_hash
from recorder.audit.trail import summarize
from recorder.storage_writes import Transition

_text = st.text(max_size=12)
_optional_text = st.none() | _text
_details = st.dictionaries(
    st.sampled_from(["result", "failure", "resumed"]),
    st.booleans() | st.dictionaries(st.sampled_from(["type", "repr", "message"]), _text),
    max_size=2,
)
_times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
)


class _Str(str):
    """A str subclass: not what the recorder writes, so it takes the general path."""


@given(
    flow_uuid=_text,
    atom_uuid=_optional_text,
    kind=st.sampled_from(["flow", "task", "retry"]),
    name=_text | _text.map(_Str),
    old_state=_optional_text,
    new_state=_text,
    at=_times | _times.map(lambda at: at.astimezone(timezone(timedelta(hours=2)))),
    seq=st.integers(min_value=1, max_value=2**40) | st.booleans(),
    attempt=st.integers(min_value=0, max_value=10_000),
    details=_details,
    prev_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_fields_hash_is_row_hash(**fields: Any) -> None:
    ordered = [fields[name] for name in HASHED_FIELDS]
    assert fields_hash(*ordered) == row_hash(fields)


def test_a_changed_field_changes_the_hash() -> None:
    at = datetime(2026, 12, 1, 12, 0, 0, 5, tzinfo=timezone.utc)
    base: list[Any] = ["f", "a", "task", "t", "PENDING", "RUNNING", at, 1, 1, {}, "0" * 64]
    digests = {fields_hash(*base)}
    for index, other in enumerate(
        [
            "g",
            None,
            "retry",
            "u",
            None,
            "SUCCESS",
            at.replace(microsecond=6),
            2,
            2,
            {"resumed": True},
            "1" * 64,
        ]
    ):
        changed: list[Any] = list(base)
        changed[index] = other
        digests.add(fields_hash(*changed))
    assert len(digests) == len(base) + 1


@given(result=st.integers() | st.text() | st.floats() | st.none() | st.lists(st.integers()))
def test_a_result_summary_hashes_as_row_hash(result: Any) -> None:
    """The shape of most non-empty details (the trail's summary of a result)."""
    details = summarize(
        Transition("task", "t", "u", "RUNNING", "SUCCESS", 1.0, 1, {"result": result})
    )
    assert set(details["result"]) == {"type", "repr"}
    at = datetime(2026, 12, 2, tzinfo=timezone.utc)
    fields: list[Any] = ["f", "u", "task", "t", "RUNNING", "SUCCESS", at, 2, 1, details, "0" * 64]
    assert fields_hash(*fields) == row_hash(dict(zip(HASHED_FIELDS, fields, strict=True)))


@given(
    result=st.integers()
    | st.integers(min_value=2**120, max_value=2**140)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
)
def test_a_scalar_result_is_summarized_as_any_result_is(result: Any) -> None:
    """Plain scalars take a short way to their summary: the same type name and repr
    (cut the same way) as the general one gives."""
    from recorder.audit.trail import _REPR, _short
    from recorder.naming import type_name

    details = summarize(
        Transition("task", "t", "u", "RUNNING", "SUCCESS", 1.0, 1, {"result": result})
    )
    expected = {"type": _short(type_name(result)), "repr": _short(_REPR.repr(result))}
    assert details == {"result": expected}
