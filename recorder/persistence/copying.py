"""Copies of values on their way into storage, so later changes by the caller
cannot leak into what was recorded.

Plain JSON-like data (dicts, lists, tuples, scalars) is copied by hand, much
cheaper than ``copy.deepcopy``; anything else goes through deepcopy. Some values
cannot be copied at all (a lock, a generator, a socket): they are kept as the
same object -- the database stores their repr tag anyway (see
:mod:`recorder.persistence.encoding`) -- so they never stop a flow. Records
(dataclasses such as a FlowDetail) holding one are copied field by field.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def copy_value(value: T) -> T:
    """A deep copy of ``value``, sharing only what cannot be copied. Never raises."""
    try:
        return _copy(value)  # type: ignore[no-any-return]
    except RecursionError:  # nested deeper than Python can walk: keep it as it is
        return value


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind in (list, tuple):
        return kind(_copy(item) for item in value)
    try:
        return copy.deepcopy(value)
    except RecursionError:
        raise
    except Exception:  # e.g. TypeError: cannot pickle '_thread.lock' object
        return _copy_fields(value)


def _copy_fields(value: Any) -> Any:
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    clone = copy.copy(value)
    for field in dataclasses.fields(value):
        object.__setattr__(clone, field.name, _copy(getattr(value, field.name)))
    return clone
