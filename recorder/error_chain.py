"""How a :class:`~recorder.exceptions.RecorderError` shows its ``cause`` chain.

TaskFlow's ``TaskFlowException.pformat`` layout: the message, then each cause
indented one step further; the walk stops at a cause seen before (a chain may
loop) and after the first cause that is not one of ours (what its ``cause``
means, if anything, is not known). Kept out of ``exceptions.py``, which is the
error tree; ``own`` is the tree's root, passed in so this module needs no import
of it.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any


def message_of(error: BaseException) -> str:
    """The error's own message, without its causes (never ``str(error)``)."""
    return str(error.args[0]) if len(error.args) == 1 else Exception.__str__(error)


def class_name(error: BaseException, own: type[BaseException]) -> str:
    """The class name as TaskFlow shows it (the root under its TaskFlow name)."""
    return "TaskFlowException" if type(error) is own else type(error).__name__


def cause_lines(error: Any, own: type[BaseException]) -> Iterator[tuple[BaseException, list[str]]]:
    """Each cause down the chain from ``error.cause``, with the lines that show it."""
    seen: list[BaseException] = []
    cause = error.cause
    while cause is not None and cause not in seen:
        seen.append(cause)
        if isinstance(cause, own):
            yield cause, ["%s: %s" % (class_name(cause, own), message_of(cause))]
            cause = getattr(cause, "cause", None)
        else:
            only = traceback.format_exception_only(type(cause), cause)
            yield cause, [line.rstrip("\n") for line in only]
            break


def one_line(error: Any, own: type[BaseException]) -> str:
    """``message; caused by Type: message; caused by ...`` (what ``str()`` shows)."""
    links = [" ".join(lines) for _, lines in cause_lines(error, own)]
    return "; caused by ".join([message_of(error), *links])


def indented(
    error: Any, own: type[BaseException], indent: int, indent_text: str, show_root_class: bool
) -> str:
    """TaskFlow's ``pformat``: one line per cause, ``indent`` more for each level."""
    head = "%s: " % class_name(error, own) if show_root_class else ""
    out = [head + message_of(error)]
    for depth, (_, lines) in enumerate(cause_lines(error, own), start=1):
        out.extend(indent_text * (indent * depth) + line for line in lines)
    return "\n".join(out)
