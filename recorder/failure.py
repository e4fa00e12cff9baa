"""Failure: an exception captured with everything needed to store and re-raise it.

A failure remembers the exception's type names (its MRO up to ``Exception``, so
``check`` works on a failure loaded from a database where the class may not be
importable), message, args, formatted traceback and chained causes, as TaskFlow's
``Failure`` does. ``to_dict``/``from_dict`` round-trip through JSON; a failure
built from a dict has no live exception, and ``reraise`` then raises a
:class:`~recorder.exceptions.WrappedFailure` holding it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn

from recorder.exceptions import InvalidArgument, InvalidType, WrappedFailure
from recorder.failure_parts import (
    BASE_EXCEPTIONS,
    ExcInfo,
    cause_chain,
    copy_exc_info,
    equal_exc_info,
    json_safe_args,
    text_of,
    traceback_text,
    type_names,
    validate_dict,
)
from recorder.naming import qualified_name

FAILURE_FORMAT_VERSION = 1

__all__ = ["FAILURE_FORMAT_VERSION", "ExcInfo", "Failure"]


class Failure:
    """An exception, captured. ``Failure()`` inside ``except`` captures the current one.

    With keywords (``exception_str=`` and friends) it is built from stored
    parts instead, as ``from_dict`` does.
    """

    DICT_VERSION = FAILURE_FORMAT_VERSION
    BASE_EXCEPTIONS = BASE_EXCEPTIONS

    def __init__(
        self,
        exc_info: ExcInfo | None = None,
        *,
        exception_str: str | None = None,
        traceback_str: str | None = None,
        exc_type_names: Iterable[str] | None = None,
        exc_args: Iterable[Any] | None = None,
        causes: Iterable[Failure] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise InvalidType(
                "Failure.__init__ got unexpected keyword argument(s): %s" % ", ".join(unknown)
            )
        parts = (exception_str, traceback_str, exc_type_names, exc_args, causes)
        if all(part is None for part in parts):
            self._capture(exc_info)
            return
        if exception_str is None:
            raise InvalidArgument("Failure(...) built from parts needs exception_str")
        self._exc_info: ExcInfo | None = exc_info
        self._exception_str = exception_str
        self._traceback_str = traceback_str or ""
        self._type_names = tuple(exc_type_names or ())
        self._args = tuple(exc_args or ())
        self._causes: tuple[Failure, ...] | None = None if causes is None else tuple(causes)

    def _capture(self, exc_info: ExcInfo | None) -> None:
        if exc_info is None:
            current = sys.exc_info()
            if current[0] is None or current[1] is None:
                raise InvalidArgument("Failure() needs exc_info or must be built inside 'except'")
            exc_info = (current[0], current[1], current[2])
        elif len(exc_info) != 3:
            raise InvalidArgument("Provided 'exc_info' must contain three elements")
        names = type_names(exc_info[0])
        if not names:
            raise InvalidType(
                "Invalid exception type %r: not an Exception subclass" % (exc_info[0],)
            )
        self._set_live(exc_info, names)

    def _set_live(self, exc_info: ExcInfo, names: list[str]) -> None:
        self._exc_info = exc_info
        self._exception_str = text_of(str, exc_info[1])
        self._traceback_str = traceback_text(exc_info[2])
        self._type_names = tuple(names)
        self._args = json_safe_args(exc_info[1].args)
        self._causes = None  # found on first use (most failures never need them)

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        return cls((type(exc), exc, exc.__traceback__))

    @classmethod
    def _of_cause(cls, exc: BaseException) -> Failure:
        """A cause: any exception may be one, even one that is only a BaseException."""
        failure = cls.__new__(cls)
        names = type_names(type(exc)) or type_names(type(exc), BaseException)
        failure._set_live((type(exc), exc, exc.__traceback__), names)
        return failure

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
    def exception_args(self) -> tuple[Any, ...]:
        return self._args

    @property
    def causes(self) -> tuple[Failure, ...]:
        """Every cause of this failure, nearest first (TaskFlow's flattened tuple)."""
        if self._causes is None:
            # Each cause's own causes are the rest of this chain, not a new walk
            # from its exception: a chain that loops would otherwise never end.
            rest: tuple[Failure, ...] = ()
            for exc in reversed(list(cause_chain(self.exception))):
                cause = self._of_cause(exc)
                cause._causes = rest
                rest = (cause, *rest)
            self._causes = rest
        return self._causes

    def iter_causes(self) -> Iterator[Failure]:
        """This failure's causes, nearest first, all the way down (also for dicts
        stored with only the nearest cause at each level)."""
        pending = self.causes
        while pending:
            yield from pending
            pending = pending[-1].causes

    def __iter__(self) -> Iterator[str]:
        """The exception's type names, most specific first."""
        return iter(self._type_names)

    # -- questions ----------------------------------------------------------

    def check(self, *exc_classes: type[BaseException] | str) -> type[BaseException] | str | None:
        """Return the first of ``exc_classes`` this failure is an instance of, else None.

        Classes and dotted names both work, so it answers for failures loaded
        from a database too.
        """
        for exc_class in exc_classes:
            name = exc_class if isinstance(exc_class, str) else qualified_name(exc_class)
            if name in self._type_names:
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

    def _same_parts(self, other: Failure) -> bool:
        return (
            self._type_names == other._type_names
            and self._args == other._args
            and self._exception_str == other._exception_str
            and self._traceback_str == other._traceback_str
            and len(self.causes) == len(other.causes)
        )

    def matches(self, other: object) -> bool:
        """Same parts, causes matching too; a live exception on both sides must
        also be equivalent (so a stored copy matches the live failure)."""
        if not isinstance(other, Failure):
            return False
        if self is other:
            return True
        if self._exc_info is not None and other._exc_info is not None:
            return self == other
        return self._same_parts(other) and all(
            mine.matches(theirs) for mine, theirs in zip(self.causes, other.causes, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        """Same parts and equivalent live exceptions (a stored copy is not equal to a
        live failure; ``matches`` says whether they describe the same error)."""
        if not isinstance(other, Failure):
            return NotImplemented
        if self is other:
            return True
        return (
            self._same_parts(other)
            and equal_exc_info(self._exc_info, other._exc_info)
            and self.causes == other.causes
        )

    __hash__ = None  # type: ignore[assignment]

    # -- formatting and storage ---------------------------------------------

    def pformat(self, traceback: bool = False) -> str:
        if self._type_names:
            text = "Failure: %s: %s" % (self._type_names[0], self._exception_str)
        else:
            text = "Failure: %s" % self._exception_str
        if traceback:
            tb = self._traceback_str.rstrip()
            if tb:
                text += "\nTraceback (most recent call last):\n" + tb
            else:
                text += "\nTraceback not available."
        return text

    def __str__(self) -> str:
        return self.pformat()

    def __repr__(self) -> str:
        return "Failure(%s)" % self.pformat()[len("Failure: ") :]

    @classmethod
    def validate(cls, data: Any) -> None:
        """Raise InvalidFormat unless ``data`` has the shape of ``to_dict()``."""
        validate_dict(data)

    def to_dict(self, include_args: bool = True) -> dict[str, Any]:
        return {
            "exception_str": self._exception_str,
            "traceback_str": self._traceback_str,
            "exc_type_names": list(self._type_names),
            "version": FAILURE_FORMAT_VERSION,
            "exc_args": self._args if include_args else (),
            "causes": [cause.to_dict(include_args) for cause in self.causes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Failure:
        try:
            version = data.get("version", FAILURE_FORMAT_VERSION)
            if version != FAILURE_FORMAT_VERSION:
                raise InvalidArgument("Invalid dict version of failure object: %r" % (version,))
            return cls(
                exception_str=data["exception_str"],
                traceback_str=data.get("traceback_str") or "",
                exc_type_names=data.get("exc_type_names") or (),
                exc_args=data.get("exc_args") or (),
                causes=[cls.from_dict(cause) for cause in data.get("causes") or ()],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidArgument("not a stored failure: missing or bad %s" % exc) from exc

    def copy(self) -> Failure:
        """A new, equal failure (its exception a shallow copy, as TaskFlow makes it)."""
        return Failure(
            exc_info=copy_exc_info(self._exc_info),
            exception_str=self._exception_str,
            traceback_str=self._traceback_str,
            exc_type_names=self._type_names,
            exc_args=self._args,
            causes=self.causes,
        )

    def __copy__(self) -> Failure:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Failure:
        # A failure never changes once captured, and its traceback cannot be
        # copied: copies (storage, MemoryBackend) share it.
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickles as its dict plus the exception (a traceback cannot be pickled)."""
        state = self.to_dict()
        if self._exc_info is not None:
            state["exc_info"] = self._exc_info[:2]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        live = state.get("exc_info")
        self._exc_info = None if live is None else (live[0], live[1], None)
        self._exception_str = state["exception_str"]
        self._traceback_str = state.get("traceback_str") or ""
        self._type_names = tuple(state.get("exc_type_names") or ())
        self._args = tuple(state.get("exc_args") or ())
        self._causes = tuple(self.from_dict(cause) for cause in state.get("causes") or ())
