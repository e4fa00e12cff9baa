"""The optional compiled build: which modules it compiles, and whether they are.

Recorder runs as plain Python. ``scripts/compile`` (or a wheel built with
``HATCH_BUILD_HOOK_ENABLE_MYPYC=1``) compiles the modules of the recording path
that ``pyproject.toml`` names (``[tool.hatch.build.targets.wheel.hooks.mypyc]``)
with mypyc: the same code and the same results, with less Python work per
state change. :func:`mypyc_attr` marks what that build must know of a class
(that users subclass it, or that it must stay a plain Python class); without
mypyc installed it changes nothing.
"""

from __future__ import annotations

import importlib
import importlib.machinery
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr as mypyc_attr
else:
    try:
        from mypy_extensions import mypyc_attr
    except ImportError:  # (only the compiler reads the marks)

        def mypyc_attr(*attrs: str, **kwattrs: Any) -> Callable[[_T], _T]:
            return lambda cls: cls


def is_compiled(module: str = "recorder.storage_writes") -> bool:
    """Whether ``module`` (by default the write path, standing for the recording path)
    runs compiled: it loads as an extension."""
    path = getattr(importlib.import_module(module), "__file__", None) or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
