"""Calling an atom's execute/revert and capturing what happened, with the time it ended.

These run wherever the engine puts them (inline, or on a worker thread); they
never touch storage or notifiers, so they are safe off the engine's thread.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from recorder.atom import Atom
from recorder.compiled import mypyc_attr
from recorder.failure import Failure


@mypyc_attr(native_class=False)  # (a record)
@dataclass(frozen=True)
class Outcome:
    """What a call returned (or raised, as a Failure) and when it returned (unix time)."""

    ok: bool
    value: Any
    finished_at: float


def _accepted(function: Callable[..., Any], names: tuple[str, ...]) -> frozenset[str]:
    params = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return frozenset(names)
    return frozenset(name for name in names if name in params)


def _filtered(function: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keyword arguments ``function`` takes (revert may take fewer than execute)."""
    accepted = _accepted(function, tuple(kwargs))
    return {key: value for key, value in kwargs.items() if key in accepted}


def execute_atom(atom: Atom, kwargs: Mapping[str, Any]) -> Outcome:
    """Run ``atom.execute(**kwargs)``; a raised exception becomes a failed Outcome."""
    try:
        atom.pre_execute()
        try:
            value = atom.execute(**kwargs)
        finally:
            atom.post_execute()
    except Exception:
        return Outcome(False, Failure(), time.time())
    return Outcome(True, value, time.time())


def revert_atom(atom: Atom, kwargs: Mapping[str, Any], extras: Mapping[str, Any]) -> Outcome:
    """Run ``atom.revert`` with its arguments plus the ``extras`` it accepts."""
    try:
        call_kwargs = dict(kwargs)
        call_kwargs.update(_filtered(atom.revert, extras))
        call_kwargs = _filtered(atom.revert, call_kwargs)
        atom.pre_revert()
        try:
            value = atom.revert(**call_kwargs)
        finally:
            atom.post_revert()
    except Exception:
        return Outcome(False, Failure(), time.time())
    return Outcome(True, value, time.time())
