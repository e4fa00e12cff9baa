"""How an atom's arguments map onto stored symbols, as TaskFlow builds it.

Required parameters of the function are inferred (``auto_extract``), amended by
``requires`` and renamed by ``rebind``; parameters with defaults are optional.
A mapping naming arguments the function cannot take ("Extra arguments") or
leaving a required one unbound ("Missing arguments") is rejected up front.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from recorder.exceptions import InvalidArgument, InvalidType
from recorder.types.sets import OrderedSet

Rebind = Mapping[str, str] | Iterable[str] | None

# (required arg -> symbol, optional arg -> symbol, required symbols, optional symbols)
Mapped = tuple[dict[str, str], dict[str, str], OrderedSet[str], OrderedSet[str]]


def signature_args(function: Callable[..., Any]) -> tuple[list[str], list[str], bool]:
    """Return (all argument names, the required ones, whether **kwargs is accepted).

    Cached per underlying function: flows often hold thousands of instances of
    one task class, and reading a signature costs more than running a no-op task.
    """
    key = getattr(function, "__func__", function)
    try:
        found = _SIGNATURES[key]
    except KeyError:
        found = _SIGNATURES[key] = _read_signature(function)
    except TypeError:  # an unhashable callable: just read it
        found = _read_signature(function)
    return list(found[0]), list(found[1]), found[2]


_SIGNATURES: dict[Any, tuple[list[str], list[str], bool]] = {}


def _read_signature(function: Callable[..., Any]) -> tuple[list[str], list[str], bool]:
    names: list[str] = []
    required: list[str] = []
    accepts_kwargs = False
    for param in inspect.signature(function).parameters.values():
        if param.kind is param.VAR_KEYWORD:
            accepts_kwargs = True
        elif param.kind is not param.VAR_POSITIONAL:
            names.append(param.name)
            if param.default is param.empty:
                required.append(param.name)
    return names, required, accepts_kwargs


def _rebind_dict(req_args: list[str], rebind: Rebind) -> dict[str, str]:
    if rebind is None:
        return {}
    if isinstance(rebind, Mapping):
        return dict(rebind)
    if isinstance(rebind, (list, tuple)):
        mapping = dict(zip(req_args, rebind, strict=False))
        mapping.update((name, name) for name in rebind[len(req_args) :])
        return mapping
    raise InvalidType("Invalid rebind value '%s' (%s)" % (rebind, type(rebind)))


def arg_mapping(
    atom_name: str,
    function: Callable[..., Any],
    requires: Iterable[str] | str | None,
    rebind: Rebind,
    auto_extract: bool,
    ignore: Iterable[str],
) -> Mapped:
    """Return ``(required, optional)`` (argument name -> symbol, in order) and their symbols.

    Cached like signatures (the result is shared: callers copy, never mutate it).
    """
    try:
        key = (
            getattr(function, "__func__", function),
            requires if requires is None or isinstance(requires, str) else tuple(requires),
            _rebind_key(rebind),
            auto_extract,
            tuple(ignore),
        )
        return _MAPPINGS[key]
    except KeyError:
        found = _MAPPINGS[key] = _arg_mapping(
            atom_name, function, requires, rebind, auto_extract, ignore
        )
        return found
    except TypeError:  # something unhashable: just build it
        return _arg_mapping(atom_name, function, requires, rebind, auto_extract, ignore)


_MAPPINGS: dict[Any, Mapped] = {}


def _rebind_key(rebind: Rebind) -> Any:
    if rebind is None or isinstance(rebind, (list, tuple)):
        return ("seq", None if rebind is None else tuple(rebind))
    if isinstance(rebind, Mapping):
        return ("map", tuple(rebind.items()))
    return [rebind]  # unhashable: not cached; _arg_mapping rejects it with TaskFlow's message


def _arg_mapping(
    atom_name: str,
    function: Callable[..., Any],
    requires: Iterable[str] | str | None,
    rebind: Rebind,
    auto_extract: bool,
    ignore: Iterable[str],
) -> Mapped:
    all_args, req_args, accepts_kwargs = signature_args(function)
    ignored = list(ignore)
    req_args = [name for name in req_args if name not in ignored]
    required: dict[str, str] = {}
    if auto_extract:
        required.update((name, name) for name in req_args)
    if isinstance(requires, str):
        required[requires] = requires
    elif requires:
        required.update((name, name) for name in requires)
    required.update(_rebind_dict(req_args, rebind))
    optional: dict[str, str] = {}
    if auto_extract:
        optional = {name: name for name in all_args if name not in required and name not in ignored}
    if not accepts_kwargs:
        extra = [name for name in required if name not in all_args]
        if extra:
            raise InvalidArgument("Extra arguments given to atom %s: %s" % (atom_name, extra))
    missing = [name for name in req_args if name not in required]
    if missing:
        raise InvalidArgument("Missing arguments for atom %s: %s" % (atom_name, missing))
    return required, optional, OrderedSet(required.values()), OrderedSet(optional.values())
