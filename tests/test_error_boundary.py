"""The error boundary, checked on the source: recorder raises its own errors.

Every ``raise`` in ``recorder/`` must

* create a :class:`~recorder.exceptions.RecorderError` subclass (never the bare
  base), directly or through a helper whose return annotation is one; or
* pass on an exception that already exists: a bare ``raise``, a caught name, an
  error stored earlier (a variable, attribute or list item), or
  ``exc.with_traceback(tb)``.

Because stored errors are passed on unchecked, every exception recorder
*creates* anywhere (not only in a ``raise``) must be a RecorderError subclass
too. Names are resolved against the imported module, so ``db.unavailable(...)``
and ``_refuse(...)`` count by what they return.

``assert`` is not used in ``recorder/``: ``python -O`` strips it, so it cannot
guard anything; an explicit check raises ``InvariantViolation`` instead.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import recorder.exceptions
from recorder.exceptions import RecorderError

PACKAGE = Path(recorder.exceptions.__file__).resolve().parent

# (exception name, enclosing function) -> why a built-in is right there. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    ("AttributeError", "__getattr__"): "the module __getattr__ protocol demands AttributeError",
    ("NotImplementedError", "execute"): "Atom.execute is abstract, as in TaskFlow",
    ("NotImplementedError", "on_failure"): "Retry.on_failure is abstract, as in TaskFlow",
    # The demo flow's tasks fail the way user code does; those failures are what it records.
    ("CarrierTimeout", "execute"): "a demo task's own failure (user code)",
    ("ConnectionError", "execute"): "a demo task's own failure (user code)",
    ("CourierUnavailable", "execute"): "a demo task's own failure (user code)",
}

# Classes of the tree (aliases such as TaskFlow's StorageFailure counted once).
TREE = [
    cls
    for name, cls in vars(recorder.exceptions).items()
    if isinstance(cls, type) and issubclass(cls, RecorderError) and name == cls.__name__
]

# TaskFlow's names that recorder never raises itself, kept so that code catching them ports.
CATCH_ONLY: dict[str, str] = {}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> tuple[bool, Any]:
    """(True, object) for a dotted name the module can see; (False, None) otherwise."""
    chain: list[str] = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return False, None
    if node.id in namespace:
        target = namespace[node.id]
    elif hasattr(builtins, node.id):
        target = getattr(builtins, node.id)
    else:
        return False, None  # a local name
    for attr in reversed(chain):
        if not hasattr(target, attr):
            return False, None
        target = getattr(target, attr)
    return True, target


def _is_recorder_error(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, RecorderError) and cls is not RecorderError


def _returns_recorder_error(func: Any) -> bool:
    try:
        hints = typing.get_type_hints(func)
        returned = hints["return"] if "return" in hints else _source_return(func)
    except Exception:  # an annotation that does not resolve: say so below
        return False
    options = typing.get_args(returned) or (returned,)
    return all(_is_recorder_error(option) for option in options)


def _source_return(func: Any) -> Any:
    """The return annotation of ``func`` read from its module's source: a function of
    the compiled build keeps none at run time (scripts/compile)."""
    module = importlib.import_module(func.__module__)
    path = Path(inspect.getfile(module)).with_name(module.__name__.rpartition(".")[2] + ".py")
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == func.__name__ and node.returns:
            return eval(ast.unparse(node.returns), vars(module))
    return None


class _Walker(ast.NodeVisitor):
    def __init__(self, module: str, namespace: dict[str, Any]) -> None:
        self.module = module
        self.namespace = namespace
        self.functions: list[str] = ["<module>"]
        self.problems: list[str] = []
        self.used: set[tuple[str, str]] = set()

    def _where(self, node: ast.AST) -> str:
        return "%s:%d (in %s)" % (self.module, getattr(node, "lineno", 0), self.functions[-1])

    def _allowed(self, name: str) -> bool:
        key = (name, self.functions[-1])
        if key in ALLOWED:
            self.used.add(key)
            return True
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assert(self, node: ast.Assert) -> None:
        self.problems.append("%s: assert used as a check" % self._where(node))

    def visit_Call(self, node: ast.Call) -> None:
        found, target = _resolve(node.func, self.namespace)
        if found and target is RecorderError:
            self.problems.append(
                "%s: creates the bare RecorderError; use a subclass" % self._where(node)
            )
        elif (
            found
            and isinstance(target, type)
            and issubclass(target, BaseException)
            and not _is_recorder_error(target)
            and not self._allowed(target.__name__)
        ):
            self.problems.append("%s: creates %s" % (self._where(node), target.__name__))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """Imports inside functions bind names too (module-level ones are in the namespace)."""
        if node.level == 0 and node.module:
            source = importlib.import_module(node.module)
            for alias in node.names:
                if hasattr(source, alias.name):
                    self.namespace.setdefault(
                        alias.asname or alias.name, getattr(source, alias.name)
                    )

    def visit_Raise(self, node: ast.Raise) -> None:
        self.generic_visit(node)  # constructions inside are checked by visit_Call
        exc = node.exc
        if exc is None:
            return  # bare re-raise
        if isinstance(exc, ast.Call):
            func = exc.func
            if isinstance(func, ast.Attribute) and func.attr == "with_traceback":
                return  # passes on an existing exception with its traceback
            found, target = _resolve(func, self.namespace)
            if not found:
                self.problems.append(
                    "%s: cannot tell what %s raises" % (self._where(node), ast.unparse(exc))
                )
            elif isinstance(target, type):
                pass  # a class: judged by visit_Call
            elif not _returns_recorder_error(target):
                self.problems.append(
                    "%s: %s is not annotated to return a RecorderError subclass"
                    % (self._where(node), ast.unparse(func))
                )
            return
        if isinstance(exc, (ast.Name, ast.Attribute)):
            found, target = _resolve(exc, self.namespace)
            if found and isinstance(target, type):  # `raise SomeClass` creates one
                if not _is_recorder_error(target) and not self._allowed(target.__name__):
                    self.problems.append("%s: raises %s" % (self._where(node), target.__name__))
                return
            if not found:
                return  # a caught or stored exception, passed on
        if isinstance(exc, ast.Subscript):
            return  # an exception stored in a list, passed on
        self.problems.append(
            "%s: cannot tell what `raise %s` raises" % (self._where(node), ast.unparse(exc))
        )


def _problems_in(module: str, path: Path) -> list[str]:
    namespace = dict(vars(importlib.import_module(module)))
    walker = _Walker(module, namespace)
    walker.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return walker.problems


def test_every_raise_is_a_recorder_error_or_a_re_raise() -> None:
    problems = [p for module, path in _modules() for p in _problems_in(module, path)]
    assert not problems, "\n".join(problems)


def test_the_allow_list_is_used() -> None:
    """An entry nobody needs any more is removed, not kept as a loophole."""
    used: set[tuple[str, str]] = set()
    for module, path in _modules():
        walker = _Walker(module, dict(vars(importlib.import_module(module))))
        walker.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        used |= walker.used
    assert set(ALLOWED) == used, sorted(set(ALLOWED) - used)


def test_the_checker_catches_what_it_forbids() -> None:
    source = inspect.cleandoc(
        """
        def f(x):
            assert x
            if x:
                raise ValueError("x")
            raise RecorderError("bare")
        """
    )
    walker = _Walker("sample", {"RecorderError": RecorderError})
    walker.visit(ast.parse(source))
    assert [p.split(": ", 1)[1] for p in walker.problems] == [
        "assert used as a check",
        "creates ValueError",
        "creates the bare RecorderError; use a subclass",
    ]


@pytest.mark.parametrize("error", sorted(cls.__name__ for cls in TREE if cls is not RecorderError))
def test_every_error_in_the_tree_is_drawn_in_the_docstring(error: str) -> None:
    assert recorder.exceptions.__doc__ is not None
    assert re.search(r"── %s\b" % error, recorder.exceptions.__doc__)


def test_every_error_in_the_tree_is_raised_somewhere() -> None:
    """A class nobody raises (nor any subclass of it) does not belong in the tree."""
    created: set[str] = set()
    for _module, path in _modules():
        if path.name == "exceptions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                created.add(func.attr if isinstance(func, ast.Attribute) else ast.unparse(func))
    unused = [
        cls.__name__
        for cls in TREE
        if not any(issubclass(other, cls) and other.__name__ in created for other in TREE)
    ]
    assert sorted(unused) == sorted(CATCH_ONLY)


def test_a_driver_error_stays_reachable_as_the_cause() -> None:
    from sqlalchemy.exc import DBAPIError

    from recorder.persistence import connect

    with pytest.raises(recorder.exceptions.DatabaseUnavailable) as caught:
        connect("sqlite:////nonexistent-dir/x.db", check_schema=False)
    assert isinstance(caught.value.__cause__, DBAPIError)
