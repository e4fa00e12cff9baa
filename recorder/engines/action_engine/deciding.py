"""Graph-flow deciders: whether an atom whose predecessors are done runs or is ignored.

When an atom with deciders on its incoming links becomes ready, each decider is
called with ``history``: ``{name: result}`` of the atoms its links come from
(a link from an atom that was ignored does not vote). One "no" ignores the
atom, and with it, by the widest depth of the "no" voters (as TaskFlow's):
``ALL`` every atom after it, ``FLOW`` the tasks after it in the same flow (not
entering subflows), ``NEIGHBORS`` the tasks right after it in the same flow,
``ATOM`` nothing else. Ignored atoms count as done for what follows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from recorder import states
from recorder.deciders import Depth, pick_widest
from recorder.engines.compiler import EdgeDecider
from recorder.storage import latest_retry_result

if TYPE_CHECKING:
    from recorder.engines.action_engine.runner import Runner

_WAITING = (states.PENDING, states.RETRYING)


def admit(runner: Runner, idx: int) -> None:
    """``idx`` has no unfinished predecessors: make it ready, unless a decider says no."""
    edge_deciders = runner.c.deciders.get(idx)
    if edge_deciders:
        nays = _nays(runner, edge_deciders)
        if nays:
            ignore(runner, _affected(runner, idx, pick_widest(ed.depth for ed in nays)))
            return
    runner.ready.append(idx)


def _nays(runner: Runner, edge_deciders: list[EdgeDecider]) -> list[EdgeDecider]:
    details = runner.details
    history: dict[str, Any] = {}
    for ed in edge_deciders:
        if ed.voter is not None and details[ed.voter].state != states.IGNORE:
            detail = details[ed.voter]
            value = detail.results
            if detail.kind == states.KIND_RETRY:
                value = latest_retry_result(value)
            history[detail.name] = value
    nays = []
    for ed in edge_deciders:
        if ed.voter is not None and details[ed.voter].name not in history:
            continue  # its atom was ignored: no vote
        if not ed.decider(history=dict(history)):
            nays.append(ed)
    return nays


def _affected(runner: Runner, idx: int, depth: Depth) -> list[int]:
    c = runner.c
    if depth == Depth.ATOM:
        return [idx]
    same_flow = c.parent[idx]

    def follows(node: int) -> bool:
        if depth == Depth.ALL:
            return True
        return c.parent[node] == same_flow and c.atoms[node].kind == states.KIND_TASK

    found = {idx}
    frontier = [idx]
    while frontier:
        node = frontier.pop()
        for succ in c.succs[node]:
            if succ not in found and follows(succ):
                found.add(succ)
                if depth != Depth.NEIGHBORS:
                    frontier.append(succ)
    return sorted(found, key=c.position.__getitem__)


def ignore(runner: Runner, atoms: Iterable[int]) -> None:
    """Move ``atoms`` (those not started) to IGNORE; what follows them may be ready now."""
    details = runner.details
    ignored = []
    for idx in atoms:
        if details[idx].state in _WAITING:
            runner.atom_to(idx, states.IGNORE, changes={"intention": states.IGNORE})
            ignored.append(idx)
    for idx in ignored:
        for succ in runner.c.succs[idx]:
            runner.remaining[succ] -= 1
            if runner.remaining[succ] == 0 and details[succ].state in _WAITING:
                admit(runner, succ)
