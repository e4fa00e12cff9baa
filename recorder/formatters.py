"""FailureFormatter: explain a failure with what led up to it.

``format(fail, atom_matcher)`` returns ``(exc_info, details)``: the failure's
exc_info for the log record, and a text listing the failed atom's predecessors
(most recent first, as a tree) with each one's intention, state, requires and
provides, so a single log record shows the data the failing atom was given.
Inputs and outputs of atoms named in ``hide_inputs_outputs_of`` are left out;
dict keys named in ``mask_inputs_keys``/``mask_outputs_keys`` show ``'***'``
(at any depth), for secrets.

As in TaskFlow, details are only built while the failed atom's intention is
EXECUTE (once it is being reverted the predecessors' data has moved on). A
failure loaded from storage (no live exc_info) gets its stored traceback text.
Unlike TaskFlow, an atom reached twice in the tree is expanded once (marked
``(see above)``), so wide graphs give output proportional to their size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.atom import Atom
from recorder.exceptions import NotFound
from recorder.failure import ExcInfo, Failure

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine
    from recorder.engines.compiler import Compilation
    from recorder.storage import Storage

MASK = "***"


@dataclass(frozen=True)
class AtomNode:
    """What an ``atom_matcher`` is called with: ``node.item`` is the atom (as in TaskFlow)."""

    item: Atom
    metadata: Mapping[str, Any] = field(default_factory=dict)


AtomMatcher = Callable[[AtomNode], bool]


def mask_keys(data: Any, keys: frozenset[str]) -> Any:
    """A copy of ``data`` with the value of every dict key in ``keys`` replaced by '***'."""
    if isinstance(data, dict):
        return {k: MASK if k in keys else mask_keys(v, keys) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_keys(item, keys) for item in data]
    if isinstance(data, tuple):
        return tuple(mask_keys(item, keys) for item in data)
    return data


class FailureFormatter:
    """Formats a failure and connects it to the atoms that ran before it."""

    def __init__(
        self,
        engine: ActionEngine,
        hide_inputs_outputs_of: Iterable[str] = (),
        mask_inputs_keys: Iterable[str] = (),
        mask_outputs_keys: Iterable[str] = (),
    ) -> None:
        self._engine = engine
        self._hide_inputs_outputs_of = frozenset(hide_inputs_outputs_of)
        self._mask_inputs_keys = frozenset(mask_inputs_keys)
        self._mask_outputs_keys = frozenset(mask_outputs_keys)

    def _mask_keys(self, data: Any, keys: Iterable[str]) -> Any:
        return mask_keys(data, frozenset(keys))

    def format(self, fail: Failure, atom_matcher: AtomMatcher) -> tuple[ExcInfo | None, str]:
        """Return ``(exc_info, details)`` about ``fail`` (``details`` may be empty)."""
        parts: list[str] = []
        if fail.exc_info is None:
            parts.append(fail.pformat(traceback=True))
        storage = self._engine.storage
        compilation = self._engine.compilation
        atom = next(
            (a for a in compilation.atoms if atom_matcher(AtomNode(a, {"kind": a.kind}))), None
        )
        if atom is not None and _get(storage.get_atom_intention, atom.name) == states.EXECUTE:
            parts.append(self._predecessors(storage, compilation, compilation.index[atom.name]))
        return fail.exc_info, os.linesep.join(parts)

    def _predecessors(self, storage: Storage, c: Compilation, root: int) -> str:
        position = c.position

        def preds(idx: int) -> list[int]:  # most recent (latest in run order) first
            return sorted(c.preds[idx], key=position.__getitem__, reverse=True)

        labels: dict[int, str] = {}
        expanded: set[int] = set()
        lines: list[str] = []
        # (atom, prefix of its own line, prefix for its children's lines)
        stack = [(idx, "  ", "  ") for idx in reversed(preds(root))]
        while stack:
            idx, line_prefix, child_prefix = stack.pop()
            if idx not in labels:
                labels[idx] = self._format_node(storage, c.atoms[idx])
            children = preds(idx)
            if idx in expanded and children:
                lines.append(line_prefix + labels[idx] + " (see above)")
                continue
            lines.append(line_prefix + labels[idx])
            expanded.add(idx)
            for pos in range(len(children) - 1, -1, -1):
                last = pos == len(children) - 1
                stack.append(
                    (children[pos], child_prefix + "|__", child_prefix + ("   " if last else "|  "))
                )
        header = "%d predecessors (most recent first):" % len(lines)
        return os.linesep.join([header, *lines])

    def _format_node(self, storage: Storage, atom: Atom) -> str:
        """One atom's line: its intention, state, inputs and outputs (masked or hidden
        as asked). TaskFlow's formatter has a method of this name for the same line."""
        name = atom.name
        attrs: dict[str, Any] = {}
        intention = _get(storage.get_atom_intention, name)
        if intention is not None:
            attrs["intention"] = intention
        state = _get(storage.get_atom_state, name)
        if state is not None:
            attrs["state"] = state
        if name not in self._hide_inputs_outputs_of:
            try:  # what has a value now; an argument without one is left out
                requires = storage.fetch_mapped_args(
                    atom.rebind, atom_name=name, optional_args=set(atom.rebind)
                )
            except NotFound:
                requires = {}
            requires.update(  # the atom's own injected values, keyed by symbol
                (arg, atom.inject[symbol])
                for arg, symbol in atom.rebind.items()
                if symbol in atom.inject
            )
            attrs["requires"] = mask_keys(requires, self._mask_inputs_keys)
            try:
                provides = storage.get(name)
            except NotFound:
                pass
            else:
                if not isinstance(provides, Failure):
                    attrs["provides"] = mask_keys(provides, self._mask_outputs_keys)
        return "Atom '%s' %s" % (name, attrs) if attrs else "Atom '%s'" % name


def _get(getter: Callable[[str], Any], name: str) -> Any:
    try:
        return getter(name)
    except NotFound:
        return None
