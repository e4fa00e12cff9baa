"""Failure capture, checks, round trips and re-raising."""

from __future__ import annotations

import json

import pytest

from recorder.exceptions import InvalidArgument, WrappedFailure
from recorder.failure import Failure


class AppError(ValueError):
    pass


def capture(exc: BaseException) -> Failure:
    try:
        raise exc
    except BaseException:
        return Failure()


def test_captures_type_names_message_args_traceback_and_causes() -> None:
    try:
        try:
            {"present": 1}["missing"]
        except KeyError as inner:
            raise AppError("bad value", 42) from inner
    except AppError:
        failure = Failure()
    app_error = "%s.AppError" % AppError.__module__
    assert failure.exception_type_names[:3] == [app_error, "ValueError", "Exception"]
    assert failure.exception_str == "('bad value', 42)"
    assert failure.exception_args == ["bad value", 42]
    assert "raise AppError" in failure.traceback_str
    assert [c.exception_type_names[0] for c in failure.causes] == ["KeyError"]
    assert failure.check(KeyError) is None
    assert failure.check(ValueError) is ValueError
    assert failure.check(app_error) == app_error


def test_json_round_trip_keeps_what_matters() -> None:
    failure = capture(AppError("x", object()))
    data = json.loads(json.dumps(failure.to_dict()))
    back = Failure.from_dict(data)
    assert back == failure
    assert back.matches(failure)
    assert back.exception is None and failure.exception is not None
    assert back.check(ValueError) is ValueError
    assert isinstance(back.exception_args[1], str)  # non-JSON args kept as repr


def test_reraise_raises_the_original_or_a_wrapped_failure() -> None:
    failure = capture(AppError("original"))
    with pytest.raises(AppError, match="original"):
        failure.reraise()
    loaded = Failure.from_dict(failure.to_dict())
    with pytest.raises(WrappedFailure) as err:
        loaded.reraise()
    assert err.value[0] is loaded and err.value.check(ValueError) is ValueError


def test_reraise_if_any() -> None:
    Failure.reraise_if_any([])
    one = capture(KeyError("k"))
    with pytest.raises(KeyError):
        Failure.reraise_if_any([one])
    two = capture(RuntimeError("r"))
    with pytest.raises(WrappedFailure) as err:
        Failure.reraise_if_any([one, two])
    assert len(err.value) == 2 and "2 failures" in str(err.value)


def test_bad_construction() -> None:
    with pytest.raises(InvalidArgument):
        Failure()
    with pytest.raises(InvalidArgument):
        Failure.from_dict({"nope": 1})


def test_pformat() -> None:
    failure = capture(RuntimeError("boom"))
    assert failure.pformat() == "Failure: RuntimeError: boom"
    assert "Traceback" in failure.pformat(traceback=True)


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_exceptions_whose_message_cannot_be_made_are_still_captured() -> None:
    failure = capture(RuntimeError(10**5000))  # str() raises ValueError (4300-digit limit)
    assert failure.exception_str.startswith("<RuntimeError str() failed: ValueError: Exceeds")
    assert failure.exception_args == [10**5000]
    failure = capture(KeyError(Unprintable()))
    assert failure.exception_str == "<KeyError str() failed: RuntimeError: no repr>"
    assert failure.exception_args == ["<Unprintable repr() failed: RuntimeError: no repr>"]
    assert failure.check(KeyError) is KeyError
