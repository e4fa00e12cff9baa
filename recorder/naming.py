"""The one rule for naming a type in text: ``module.QualName``, bare for builtins.

Failures (``exc_type_names``), stored reprs (``{"type": ...}``), transitions
summaries and atom default names all use it, so a type reads the same wherever
it is shown or stored.
"""

from __future__ import annotations


def qualified_name(cls: type) -> str:
    """``pkg.mod.Class`` (``Class.Inner`` for nested ones); builtins bare: ``ValueError``."""
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else "%s.%s" % (module, cls.__qualname__)


def type_name(value: object) -> str:
    """The :func:`qualified_name` of ``value``'s type."""
    return qualified_name(type(value))
