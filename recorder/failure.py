"""Failure: an exception captured with everything needed to store and re-raise it.

A failure remembers the exception's type names (its MRO, so ``check`` works on a
failure loaded from a database where the class may not be importable), message,
args, formatted traceback and chained causes. ``to_dict``/``from_dict`` round-trip
through JSON; a failure built from a dict has no live exception, and ``reraise``
then raises a :class:`~recorder.exceptions.WrappedFailure` holding it.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, NoReturn

from recorder.exceptions import InvalidArgument, WrappedFailure
from recorder.naming import qualified_name

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

FAILURE_FORMAT_VERSION = 1


def _type_names(exc_type: type[BaseException]) -> list[str]:
    names = []
    for cls in exc_type.__mro__:
        if cls is object:
            break
        names.append(qualified_name(cls))
    return names


def _json_safe_args(args: Iterable[Any]) -> list[Any]:
    safe: list[Any] = []
    for arg in args:
        if arg is None or isinstance(arg, (str, int, float, bool)):
            safe.append(arg)
        else:
            safe.append(_text_of(repr, arg))
    return safe


def _text_of(show: Any, value: Any) -> str:
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
            _first_line(exc),
        )


def _first_line(exc: BaseException) -> str:
    try:
        lines = str(exc).splitlines()
    except Exception:
        return "?"
    return lines[0] if lines else ""


class Failure:
    """An exception, captured. ``Failure()`` inside ``except`` captures the current one."""

    def __init__(
        self,
        exc_info: ExcInfo | None = None,
        *,
        exception_str: str | None = None,
        traceback_str: str | None = None,
        exc_type_names: Iterable[str] | None = None,
        exc_args: Iterable[Any] | None = None,
        causes: Iterable[Failure] | None = None,
    ) -> None:
        if exc_info is None and exc_type_names is None:
            current = sys.exc_info()
            if current[1] is None:
                raise InvalidArgument("Failure() needs exc_info or must be built inside 'except'")
            exc_info = (current[0], current[1], current[2])
        self._exc_info: ExcInfo | None = exc_info
        if exc_info is not None:
            exc = exc_info[1]
            self._exception_str = _text_of(str, exc)
            self._traceback_str = "".join(traceback.format_tb(exc_info[2]))
            self._type_names = _type_names(exc_info[0])
            self._args = _json_safe_args(exc.args)
            self._causes = self._causes_of(exc)
        else:
            self._exception_str = exception_str or ""
            self._traceback_str = traceback_str or ""
            self._type_names = list(exc_type_names or ())
            if not self._type_names:
                raise InvalidArgument("a Failure needs at least one exception type name")
            self._args = list(exc_args or ())
            self._causes = list(causes or ())

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        return cls((type(exc), exc, exc.__traceback__))

    @staticmethod
    def _causes_of(exc: BaseException) -> list[Failure]:
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is None:
            return []
        return [Failure.from_exception(cause)]

    # -- what was captured -------------------------------------------------

    @property
    def exception(self) -> BaseException | None:
        return self._exc_info[1] if self._exc_info else None

    @property
    def exc_info(self) -> ExcInfo | None:
        return self._exc_info

    @property
    def exception_str(self) -> str:
        return self._exception_str

    @property
    def traceback_str(self) -> str:
        return self._traceback_str

    @property
    def exception_type_names(self) -> list[str]:
        return list(self._type_names)

    @property
    def exception_args(self) -> list[Any]:
        return list(self._args)

    @property
    def causes(self) -> list[Failure]:
        return list(self._causes)

    def iter_causes(self) -> Iterator[Failure]:
        """This failure's causes, nearest first, all the way down."""
        pending = list(self._causes)
        while pending:
            cause = pending.pop(0)
            yield cause
            pending[:0] = cause._causes

    # -- questions ----------------------------------------------------------

    def check(self, *exc_classes: type[BaseException] | str) -> type[BaseException] | str | None:
        """Return the first of ``exc_classes`` this failure is an instance of, else None.

        Classes and dotted names both work, so it answers for failures loaded
        from a database too.
        """
        for exc_class in exc_classes:
            if isinstance(exc_class, str):
                if exc_class in self._type_names:
                    return exc_class
            else:
                if qualified_name(exc_class) in self._type_names:
                    return exc_class
        return None

    def reraise(self) -> NoReturn:
        """Raise the captured exception with its traceback (or a WrappedFailure of self)."""
        if self._exc_info is not None:
            raise self._exc_info[1].with_traceback(self._exc_info[2])
        raise WrappedFailure([self])

    @staticmethod
    def reraise_if_any(failures: Iterable[Failure]) -> None:
        """Re-raise one failure as itself, several as one WrappedFailure, none: return."""
        failures = list(failures)
        if len(failures) == 1:
            failures[0].reraise()
        if failures:
            raise WrappedFailure(failures)

    # -- formatting and storage ---------------------------------------------

    def pformat(self, traceback: bool = False) -> str:
        text = "Failure: %s: %s" % (self._type_names[0], self._exception_str)
        if traceback and self._traceback_str:
            text += "\nTraceback (most recent call last):\n" + self._traceback_str.rstrip()
        return text

    def __str__(self) -> str:
        return self.pformat()

    def __repr__(self) -> str:
        return "Failure(%s: %s)" % (self._type_names[0], self._exception_str)

    def to_dict(self, include_args: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "exception_str": self._exception_str,
            "traceback_str": self._traceback_str,
            "exc_type_names": list(self._type_names),
            "causes": [cause.to_dict(include_args) for cause in self._causes],
            "version": FAILURE_FORMAT_VERSION,
        }
        if include_args:
            data["exc_args"] = list(self._args)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        try:
            return cls(
                exception_str=data["exception_str"],
                traceback_str=data.get("traceback_str", ""),
                exc_type_names=data["exc_type_names"],
                exc_args=data.get("exc_args", ()),
                causes=[cls.from_dict(cause) for cause in data.get("causes", ())],
            )
        except (KeyError, TypeError) as exc:
            raise InvalidArgument("not a stored failure: missing or bad %s" % exc) from exc

    def matches(self, other: object) -> bool:
        """Same type names, message and traceback text (live exception or not)."""
        if not isinstance(other, Failure):
            return False
        return (
            self._type_names == other._type_names
            and self._exception_str == other._exception_str
            and self._traceback_str == other._traceback_str
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Failure):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Failure:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Failure:
        # A failure never changes once captured, and its traceback cannot be
        # copied: copies (storage, MemoryBackend) share it.
        return self
