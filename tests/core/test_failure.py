"""Failure capture, checks, round trips and re-raising."""

from __future__ import annotations

import json
import pickle

import pytest

from recorder.exceptions import (
    InvalidArgument,
    InvalidFormat,
    InvalidState,
    InvalidType,
    StorageError,
    TaskFlowException,
    WrappedFailure,
    raise_with_cause,
)
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
    assert failure.exception_args == ("bad value", 42)
    assert "raise AppError" in failure.traceback_str
    assert [c.exception_type_names[0] for c in failure.causes] == ["KeyError"]
    assert failure.check(KeyError) is None
    assert failure.check(ValueError) is ValueError
    assert failure.check(app_error) == app_error


def test_json_round_trip_keeps_what_matters() -> None:
    failure = capture(AppError("x", object()))
    data = json.loads(json.dumps(failure.to_dict()))
    back = Failure.from_dict(data)
    assert back != failure  # a stored copy has no live exception
    assert back.matches(failure) and failure.matches(back)
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
    assert len(err.value) == 2 and str(err.value) == (
        "WrappedFailure: [Failure: KeyError: 'k', Failure: RuntimeError: r]"
    )


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
    assert failure.exception_args == (10**5000,)
    failure = capture(KeyError(Unprintable()))
    assert failure.exception_str == "<KeyError str() failed: RuntimeError: no repr>"
    assert failure.exception_args == ("<Unprintable repr() failed: RuntimeError: no repr>",)
    assert failure.check(KeyError) is KeyError


def _looping_chain() -> Failure:
    outer = RuntimeError("outer")
    middle = RuntimeError("middle")
    middle.__cause__ = outer  # the chain loops back: outer -> middle -> outer
    outer.__cause__ = middle
    try:
        raise outer
    except RuntimeError:
        return Failure()


def test_causes_of_a_looping_chain_end_and_round_trip() -> None:
    failure = _looping_chain()
    assert [c.exception_str for c in failure.causes] == ["middle"]
    data = json.loads(json.dumps(failure.to_dict()))
    Failure.validate(data)
    back = Failure.from_dict(data)
    assert back.matches(failure) and [c.exception_str for c in back.iter_causes()] == ["middle"]


def test_pickle_keeps_the_exception_and_the_causes_but_not_the_traceback() -> None:
    failure = capture(AppError("pickled"))
    back = pickle.loads(pickle.dumps(failure))
    assert isinstance(back.exception, AppError) and back.exc_info is not None
    assert back.exc_info[2] is None and back.to_dict() == failure.to_dict()


def test_validate_refuses_bad_shapes_at_any_depth() -> None:
    good = capture(AppError("x")).to_dict()
    Failure.validate(good)
    bad_cause = dict(good, causes=[dict(good, exc_type_names=["Junk"])])
    for data in ({"exception_str": "x"}, dict(good, version=-1), bad_cause, ["not", "a", "dict"]):
        with pytest.raises(InvalidFormat):
            Failure.validate(data)


def test_construction_keywords() -> None:
    built = Failure(exception_str="gone", exc_type_names=["Exception"], exc_args=["a"])
    assert (
        built.exception_args == ("a",) and built.exc_info is None and list(built) == ["Exception"]
    )
    assert built.copy() == built and built.copy() is not built
    with pytest.raises(InvalidType, match=r"unexpected keyword argument\(s\): hi"):
        Failure(exception_str="x", hi=1)
    with pytest.raises(InvalidType):
        capture(KeyboardInterrupt())  # TaskFlow captures Exception subclasses only


def test_wrapped_failure_flattens_captured_wrapped_failures() -> None:
    one, two, three = capture(KeyError("a")), capture(KeyError("b")), capture(KeyError("c"))
    nested = capture(WrappedFailure([one, two]))
    assert list(WrappedFailure([nested, three])) == [one, two, three]


def test_errors_take_a_cause_and_stay_one_line() -> None:
    try:
        try:
            raise OSError("disk gone")
        except OSError:
            raise_with_cause(StorageError, "cannot store")
    except StorageError as err:
        error = err
    assert isinstance(error.cause, OSError) and error.__cause__ is error.cause
    assert str(error) == "cannot store; caused by OSError: disk gone"
    assert error.pformat(show_root_class=True) == "StorageError: cannot store\n  OSError: disk gone"
    assert str(InvalidState("refused", kind="task")) == "refused"
    assert TaskFlowException("x", cause=error).pformat().splitlines()[1:] == [
        "  StorageError: cannot store",
        "    OSError: disk gone",
    ]
    with pytest.raises(InvalidArgument):
        raise_with_cause(ValueError, "not ours")  # type: ignore[arg-type]
