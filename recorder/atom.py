"""Atom: what tasks and retries share — a name, what they require and provide.

Requirements are read from ``execute``'s signature (a parameter with a default
is optional), plus any extra ``requires``; ``rebind`` renames the symbol an
argument is fetched from; ``inject`` pins values for this atom only, keyed by the symbol
its argument is fetched by (as TaskFlow's).
``provides`` names what the result is saved as: one name for the whole result,
or a tuple/list of names for the items of a sequence result (a set of names
reads keys of a dict result).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from recorder import states
from recorder.atom_args import Rebind, arg_mapping
from recorder.exceptions import InvalidArgument, InvalidType
from recorder.naming import qualified_name
from recorder.types.sets import OrderedSet

# How a provided name is read out of a result: None = the whole result,
# an int = that index, a str = that key.
ResultPointer = int | str | None

KIND_TASK = states.KIND_TASK
KIND_RETRY = states.KIND_RETRY

# What the engine passes to revert itself, besides the revert arguments.
REVERT_EXTRAS = ("result", "flow_failures")


def default_name(obj: object) -> str:
    """``pkg.mod.Class``; just ``Class`` when defined in a doctest/script namespace."""
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "__main__" else qualified_name(cls)


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
    if isinstance(provides, (set, frozenset, OrderedSet)):
        return {name: name for name in sorted(provides)}
    raise InvalidType("Atom provides parameter should be str, set or tuple/list, not %r" % provides)


class Atom:
    """Base of :class:`~recorder.task.Task` and :class:`~recorder.retry.Retry`."""

    kind = KIND_TASK
    default_provides: Any = None
    #: Among atoms ready at the same time, higher priorities start first (TaskFlow's).
    priority: int = 0
    # Arguments of execute() that the engine supplies itself, never from storage.
    _engine_args: tuple[str, ...] = ()

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Iterable[str] | str | None = None,
        auto_extract: bool = True,
        rebind: Rebind = None,
        inject: Mapping[str, Any] | None = None,
        ignore_list: Iterable[str] | None = None,
        version: str | tuple[int, ...] = "1.0",
        revert_rebind: Rebind = None,
        revert_requires: Iterable[str] | str | None = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidArgument("atom name must be a str, got %r" % (name,))
        self.name: str = name if name is not None else default_name(self)
        # A retry given no name takes its flow's (TaskFlow's ``<flow>_retry``).
        self._name_defaulted = name is None
        self.version = version
        self.auto_extract = auto_extract
        self.inject: dict[str, Any] = dict(inject or {})
        self.save_as = build_provides(provides if provides is not None else self.default_provides)
        self.provides: AbstractSet[str] = OrderedSet(self.save_as)
        ignore = list(ignore_list or ()) + list(self._engine_args)
        self.rebind, exec_requires, self.optional = self._arg_mapping(
            self._signature_source(), requires, rebind, ignore
        )
        # As TaskFlow: revert's mapping falls back to execute's requires/rebind.
        self.revert_rebind, revert_requires_set, self.revert_optional = self._arg_mapping(
            self._revert_signature_source(),
            revert_requires or requires,
            revert_rebind or rebind,
            ignore + list(REVERT_EXTRAS),
        )
        self.requires: AbstractSet[str] = (
            exec_requires
            if revert_requires_set <= exec_requires
            else OrderedSet([*exec_requires, *revert_requires_set])
        )

    def _arg_mapping(
        self,
        function: Callable[..., Any],
        requires: Iterable[str] | str | None,
        rebind: Rebind,
        ignore: list[str],
    ) -> tuple[dict[str, str], AbstractSet[str], AbstractSet[str]]:
        """(argument -> symbol for all arguments, required symbols, optional symbols)."""
        required, optional, required_symbols, optional_symbols = arg_mapping(
            self.name, function, requires, rebind, self.auto_extract, ignore
        )
        mapping = dict(required)
        for arg, symbol in optional.items():
            mapping.setdefault(arg, symbol)
        injected = self.inject
        if not injected:  # the usual case: share the cached (immutable) sets
            return mapping, required_symbols, optional_symbols
        return (
            mapping,
            OrderedSet(s for s in required.values() if s not in injected),
            OrderedSet(s for s in optional.values() if s not in injected),
        )

    def _signature_source(self) -> Callable[..., Any]:
        """The function whose parameters say what this atom requires."""
        return self.execute

    def _revert_signature_source(self) -> Callable[..., Any]:
        """The function whose parameters say what this atom's revert requires."""
        return self.revert

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
        return '"%s==%s"' % (self.name, version)

    def __repr__(self) -> str:
        return "<%s %s>" % (qualified_name(type(self)), self)
