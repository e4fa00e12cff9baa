"""Atom: what tasks and retries share — a name, what they require and provide.

Requirements are read from ``execute``'s signature (a parameter with a default
is optional), plus any extra ``requires``; ``rebind`` renames the symbol an
argument is fetched from; ``inject`` pins argument values for this atom only.
``provides`` names what the result is saved as: one name for the whole result,
or a tuple/list of names for the items of a sequence result (a set of names
reads keys of a dict result).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from recorder import states
from recorder.exceptions import InvalidArgument
from recorder.naming import qualified_name

# How a provided name is read out of a result: None = the whole result,
# an int = that index, a str = that key.
ResultPointer = int | str | None

KIND_TASK = states.KIND_TASK
KIND_RETRY = states.KIND_RETRY


def default_name(obj: object) -> str:
    """``pkg.mod.Class``; just ``Class`` when defined in a doctest/script namespace."""
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "__main__" else qualified_name(cls)


def _signature_args(
    function: Callable[..., Any], ignore: Iterable[str]
) -> tuple[list[str], set[str], bool]:
    """Return (argument names in order, the optional ones, whether **kwargs is accepted).

    Cached per underlying function: flows often hold thousands of instances of
    one task class, and reading a signature costs more than running a no-op task.
    """
    key = (getattr(function, "__func__", function), tuple(ignore))
    try:
        names, optional, accepts_kwargs = _SIGNATURES[key]
    except KeyError:
        names, optional, accepts_kwargs = _SIGNATURES[key] = _read_signature(function, key[1])
    except TypeError:  # an unhashable callable: just read it
        names, optional, accepts_kwargs = _read_signature(function, key[1])
    return list(names), set(optional), accepts_kwargs


_SIGNATURES: dict[tuple[Any, tuple[str, ...]], tuple[list[str], set[str], bool]] = {}


def _read_signature(
    function: Callable[..., Any], ignore: Iterable[str]
) -> tuple[list[str], set[str], bool]:
    ignored = set(ignore)
    names: list[str] = []
    optional: set[str] = set()
    accepts_kwargs = False
    for param in inspect.signature(function).parameters.values():
        if param.kind is param.VAR_KEYWORD:
            accepts_kwargs = True
            continue
        if param.kind is param.VAR_POSITIONAL or param.name in ignored:
            continue
        names.append(param.name)
        if param.default is not param.empty:
            optional.add(param.name)
    return names, optional, accepts_kwargs


def build_provides(provides: Any) -> dict[str, ResultPointer]:
    """Map each provided symbol name to where it sits in the result."""
    if provides is None:
        return {}
    if isinstance(provides, str):
        return {provides: None}
    if isinstance(provides, (tuple, list)):
        pointers: dict[str, ResultPointer] = {}
        for index, name in enumerate(provides):
            if not isinstance(name, str):
                raise InvalidArgument("provides entries must be names (str), got %r" % (name,))
            pointers[name] = index
        return pointers
    if isinstance(provides, (set, frozenset)):
        return {name: name for name in sorted(provides)}
    raise InvalidArgument("provides must be a name, a tuple/list or a set of names: %r" % provides)


class Atom:
    """Base of :class:`~recorder.task.Task` and :class:`~recorder.retry.Retry`."""

    kind = KIND_TASK
    default_provides: Any = None
    # Arguments of execute() that the engine supplies itself, never from storage.
    _engine_args: tuple[str, ...] = ()

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Mapping[str, str] | Iterable[str] | None = None,
        inject: Mapping[str, Any] | None = None,
        ignore_list: Iterable[str] | None = None,
        version: str | tuple[int, ...] = "1.0",
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidArgument("atom name must be a str, got %r" % (name,))
        self.name: str = name if name is not None else default_name(self)
        self.version = version
        self.auto_extract = auto_extract
        self.inject: dict[str, Any] = dict(inject or {})
        self.save_as = build_provides(provides if provides is not None else self.default_provides)
        self.provides: tuple[str, ...] = tuple(self.save_as)
        self.rebind, self._optional_args, self._accepts_kwargs = self._build_arg_mapping(
            requires, rebind, list(ignore_list or ()) + list(self._engine_args)
        )

    def _build_arg_mapping(
        self,
        requires: Iterable[str] | str | None,
        rebind: Mapping[str, str] | Iterable[str] | None,
        ignore: list[str],
    ) -> tuple[dict[str, str], set[str], bool]:
        names, optional, accepts_kwargs = _signature_args(self._signature_source(), ignore)
        extra = [requires] if isinstance(requires, str) else list(requires or ())
        for name in extra:
            if name not in names:
                names.append(name)
                optional.discard(name)
        mapping = {name: name for name in names}
        if isinstance(rebind, Mapping):
            for arg, symbol in rebind.items():
                if arg not in mapping and not accepts_kwargs:
                    raise InvalidArgument(
                        "atom %r: rebind names argument %r, which execute() does not take"
                        % (self.name, arg)
                    )
                mapping[arg] = symbol
        elif rebind is not None:
            symbols = list(rebind)
            required = [name for name in names if name not in optional]
            for position, symbol in enumerate(symbols):
                if position < len(required):
                    mapping[required[position]] = symbol
                elif accepts_kwargs:
                    mapping[symbol] = symbol
                else:
                    raise InvalidArgument(
                        "atom %r: rebind has %d names but execute() takes %d arguments"
                        % (self.name, len(symbols), len(required))
                    )
        return mapping, optional, accepts_kwargs

    def _signature_source(self) -> Callable[..., Any]:
        """The function whose parameters say what this atom requires."""
        return self.execute

    @property
    def requires(self) -> frozenset[str]:
        """Symbols that must be available before this atom can run."""
        return frozenset(
            symbol
            for arg, symbol in self.rebind.items()
            if arg not in self._optional_args and arg not in self.inject
        )

    @property
    def optional(self) -> frozenset[str]:
        """Symbols that are used when available."""
        return frozenset(
            symbol for arg, symbol in self.rebind.items() if arg in self._optional_args
        )

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def revert(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def pre_execute(self) -> None:
        """Called by the engine just before ``execute``."""

    def post_execute(self) -> None:
        """Called by the engine just after ``execute`` (also when it raised)."""

    def pre_revert(self) -> None:
        """Called by the engine just before ``revert``."""

    def post_revert(self) -> None:
        """Called by the engine just after ``revert`` (also when it raised)."""

    def __str__(self) -> str:
        version = self.version
        if isinstance(version, tuple):
            version = ".".join(map(str, version))
        return "%s==%s" % (self.name, version)
