"""Hold a flow's stored state against its transitions trail (pure; no database).

A hash chain proves its rows are intact, not that rows are missing from its
end: a trail cut whole, or cut and papered over by editing ``flow_details`` /
``atom_details``, still chains. But the engine writes each state change and its
audit row in one write, so what is stored must be exactly what the trail's last
rows say. A crash (in batched mode, losing the newest writes) leaves a
*consistent prefix*, which passes; anything else fails:

* a flow whose meta carries :data:`TRAIL_META_KEY` (written with its first
  row) but that has no rows; rows without a stored flow;
* ``flow_details.state`` other than the last flow row's ``new_state``;
* an atom whose state or ``attempt`` is not its last row's; a trail atom
  missing from ``atom_details``;
* when the trail starts at the flow's start (its first row leaves PENDING):
  an atom that left PENDING without a row, or whose attempts 1..n are not
  each on the trail.

A flow first run without a recorder and recorded later has history before its
trail, so the last two rules, which need the whole history, are not applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recorder import states
from recorder.audit.chain import VerifyResult
from recorder.audit.chain import field_value as get
from recorder.persistence.rows import TRAIL_META_KEY, StoredAtom, StoredFlow

__all__ = ["TRAIL_META_KEY", "StoredAtom", "StoredFlow", "check_states", "stored_from_detail"]


def stored_from_detail(detail: Any) -> StoredFlow:
    """A :class:`StoredFlow` from a :class:`~recorder.persistence.models.FlowDetail`."""
    atoms = tuple(
        StoredAtom(a.uuid, a.name, a.kind, a.state, int(a.attempt)) for a in detail.atoms.values()
    )
    recorded = detail.meta.get(TRAIL_META_KEY) is True
    return StoredFlow(detail.uuid, detail.name, detail.state, recorded, atoms)


def _fail(chain: VerifyResult, reason: str, seq: int | None = None) -> VerifyResult:
    return VerifyResult(False, seq, reason, chain.checked, chain.head)


def check_states(
    flow_uuid: str, flow: StoredFlow | None, rows: Sequence[Any], chain: VerifyResult
) -> VerifyResult:
    """``chain`` (the verified chain of ``rows``) if the stored state agrees with it."""
    if flow is None:
        if not rows:
            from recorder.exceptions import NotFound

            raise NotFound("no stored flow with uuid %r" % flow_uuid)
        return _fail(chain, "the trail has %d rows but flow_details has no such flow" % len(rows))
    if not rows:
        if flow.recorded:
            reason = (
                "its meta says it was recorded with a transitions trail, but it has no "
                "transition rows"
            )
            return _fail(chain, reason, 1)
        return VerifyResult(True, None, "no transitions recorded", 0, None, has_trail=False)
    problem = _flow_problem(flow, rows) or _atom_problem(flow, rows)
    return chain if problem is None else _fail(chain, *problem)


def _flow_problem(flow: StoredFlow, rows: Sequence[Any]) -> tuple[str, int | None] | None:
    flow_rows = [row for row in rows if get(row, "kind") == states.KIND_FLOW]
    if not flow_rows:
        return "the trail has no transition of the flow itself", None
    last = flow_rows[-1]
    if flow.state == get(last, "new_state"):
        return None
    if flow.state in states.RUN_END_STATES:
        end = rows[-1]
        seq = int(get(end, "seq"))
        return (
            "the flow is %s but its trail ends at row %d (%s %s -> %s): rows after it are missing"
            % (flow.state, seq, get(end, "name"), get(end, "old_state"), get(end, "new_state")),
            seq + 1,
        )
    return (
        "flow_details says %s but its last flow transition (row %d) is to %s"
        % (flow.state, get(last, "seq"), get(last, "new_state")),
        None,
    )


def _atom_problem(flow: StoredFlow, rows: Sequence[Any]) -> tuple[str, int | None] | None:
    by_atom: dict[str, list[Any]] = {}
    for row in rows:
        if get(row, "kind") != states.KIND_FLOW:
            by_atom.setdefault(get(row, "atom_uuid"), []).append(row)
    stored = {atom.uuid: atom for atom in flow.atoms}
    for uuid, atom_rows in by_atom.items():
        if uuid not in stored:
            first = atom_rows[0]
            return (
                "atom %r is in the trail (row %d) but not in atom_details"
                % (get(first, "name"), get(first, "seq")),
                None,
            )
    first = rows[0]
    whole = (
        get(first, "kind") == states.KIND_FLOW
        and get(first, "old_state") in states.UNSTARTED_STATES
    )
    for atom in flow.atoms:
        problem = _one_atom(atom, by_atom.get(atom.uuid, []), whole)
        if problem is not None:
            return problem, None
    return None


def _one_atom(atom: StoredAtom, rows: list[Any], whole: bool) -> str | None:
    if not rows:
        if whole and (atom.state not in states.UNSTARTED_STATES or atom.attempt):
            return "atom %r is %s in atom_details but the trail has no row for it" % (
                atom.name,
                atom.state,
            )
        return None
    last = rows[-1]
    seq = get(last, "seq")
    if (get(last, "name"), get(last, "kind")) != (atom.name, atom.kind):
        return "atom %r (%s) in atom_details is %r (%s) in its last transition (row %d)" % (
            atom.name,
            atom.kind,
            get(last, "name"),
            get(last, "kind"),
            seq,
        )
    if atom.state != get(last, "new_state"):
        return "atom %r is %s in atom_details but its last transition (row %d) is to %s" % (
            atom.name,
            atom.state,
            seq,
            get(last, "new_state"),
        )
    if atom.attempt != get(last, "attempt"):
        return "atom %r has attempt %d in atom_details but its last transition (row %d) has %d" % (
            atom.name,
            atom.attempt,
            seq,
            get(last, "attempt"),
        )
    started = [get(row, "attempt") for row in rows if get(row, "new_state") == states.RUNNING]
    if whole and started != list(range(1, atom.attempt + 1)):
        return "atom %r has attempt %d in atom_details but the trail starts attempts %s" % (
            atom.name,
            atom.attempt,
            started,
        )
    return None
