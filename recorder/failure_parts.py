"""The pieces a :class:`~recorder.failure.Failure` is made of, kept apart from the class.

Type names, JSON-safe args and texts that cannot fail, the walk over an
exception's ``__cause__``/``__context__`` chain (a loop, not recursion: a chain
may refer back to itself), the dict-shape check behind ``Failure.validate`` and
TaskFlow's two ``exc_info`` helpers.
"""

from __future__ import annotations

import copy
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, NoReturn

from recorder.exceptions import InvalidFormat
from recorder.naming import qualified_name

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# TaskFlow's roots: a stored failure's last type name must be one of them.
BASE_EXCEPTIONS = ("BaseException", "Exception")


def type_names(exc_type: type[BaseException], up_to: type = Exception) -> list[str]:
    """Names of ``exc_type``'s MRO that subclass ``up_to`` (TaskFlow stops at Exception)."""
    return [qualified_name(cls) for cls in exc_type.__mro__ if issubclass(cls, up_to)]


def json_safe_args(args: Iterable[Any]) -> tuple[Any, ...]:
    """Args as JSON can store them: scalars as they are, anything else as its repr."""
    safe: list[Any] = []
    for arg in args:
        if arg is None or isinstance(arg, (str, int, float, bool)):
            safe.append(arg)
        else:
            safe.append(text_of(repr, arg))
    return tuple(safe)


def text_of(show: Any, value: Any) -> str:
    """``str(value)`` or ``repr(value)``, or a line saying why it could not be had:
    an exception whose message cannot be made (``RuntimeError(10**5000)``) must
    still be captured, not replaced by the error of printing it."""
    try:
        return str(show(value))
    except Exception as exc:
        return "<%s %s() failed: %s: %s>" % (
            type(value).__qualname__,
            show.__name__,
            type(exc).__qualname__,
            first_line(exc),
        )


def first_line(exc: BaseException) -> str:
    try:
        lines = str(exc).splitlines()
    except Exception:
        return "?"
    return lines[0] if lines else ""


def traceback_text(tb: TracebackType | None) -> str:
    return "".join(traceback.format_tb(tb))


def cause_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc``'s causes, nearest first: each step takes ``__cause__``, else the
    ``__context__`` (unless suppressed), skipping exceptions already seen so a
    chain that loops back (``raise e from e``) ends."""
    seen: list[BaseException] = [] if exc is None else [exc]
    while exc is not None:
        links = [exc.__cause__]
        if not exc.__suppress_context__:
            links.append(exc.__context__)
        exc = next((link for link in links if link is not None and link not in seen), None)
        if exc is not None:
            seen.append(exc)
            yield exc


def copy_exc_info(exc_info: ExcInfo | None) -> ExcInfo | None:
    """A copy of ``exc_info`` with a shallow copy of the exception (TaskFlow's helper)."""
    if exc_info is None:
        return None
    exc_type, value, tb = exc_info
    return (exc_type, copy.copy(value), tb)


def equal_exc_info(first: ExcInfo | None, second: ExcInfo | None) -> bool:
    """Same type, same str and repr of the exception, same traceback text."""
    if first == second:
        return True
    if first is None or second is None:
        return False
    if first[0] is not second[0] or type(first[1]) is not type(second[1]):
        return False
    if text_of(str, first[1]) != text_of(str, second[1]):
        return False
    if text_of(repr, first[1]) != text_of(repr, second[1]):
        return False
    return first[2] == second[2] or traceback_text(first[2]) == traceback_text(second[2])


_FIELDS: dict[str, tuple[type, ...]] = {
    "exception_str": (str,),
    "traceback_str": (str,),
    "exc_type_names": (list, tuple),
}


def validate_dict(data: Any) -> None:
    """Raise InvalidFormat unless ``data`` (and each of its causes) is a failure dict.

    The checks of TaskFlow's ``Failure.SCHEMA`` plus its root-type rule, done
    with a queue so deeply nested causes cannot exhaust the stack.
    """
    pending: deque[Any] = deque([data])
    while pending:
        cause = pending.popleft()
        if not isinstance(cause, Mapping):
            _bad("a failure must be an object, not %s" % type(cause).__name__)
        for key, kinds in _FIELDS.items():
            if key not in cause:
                _bad("%r is a required property" % key)
            if not isinstance(cause[key], kinds):
                _bad("%r must be %s" % (key, " or ".join(k.__name__ for k in kinds)))
        names = cause["exc_type_names"]
        if not names or not all(isinstance(name, str) for name in names):
            _bad("'exc_type_names' must be a non-empty list of strings")
        version = cause.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            _bad("'version' must be an integer >= 0, not %r" % (version,))
        if not isinstance(cause.get("exc_args", ()), (list, tuple)):
            _bad("'exc_args' must be an array")
        if names[-1] not in BASE_EXCEPTIONS:
            _bad(
                "'exc_type_names' must end with one of %s, not %r"
                % (", ".join(BASE_EXCEPTIONS), names[-1])
            )
        causes = cause.get("causes", ())
        if not isinstance(causes, (list, tuple)):
            _bad("'causes' must be an array")
        pending.extend(causes)


def _bad(why: str) -> NoReturn:
    raise InvalidFormat("Failure data not of the expected format: %s" % why)
