"""Read back what a run left in the database, and check it is a consistent prefix.

Consistent means: the flow's hash chain verifies with gap-free seqs 1..n, and
the flow and every atom are in the state of their last transition row (an atom
without rows is PENDING) -- what a crash or a failed write may leave, and
``resume`` can continue from.
"""

from __future__ import annotations

from recorder.audit import verify_flow
from recorder.persistence import connect
from recorder.persistence.models import FlowDetail
from recorder.persistence.rows import TransitionRow


def load(url: str, flow_uuid: str) -> tuple[FlowDetail, list[TransitionRow]]:
    backend = connect(url)
    try:
        return backend.load_flow(flow_uuid), backend.load_transitions(flow_uuid)
    finally:
        backend.close()


def assert_consistent(url: str, flow_uuid: str) -> FlowDetail:
    """Assert the stored flow is a consistent prefix of a run; return it."""
    flow, rows = load(url, flow_uuid)
    result = verify_flow(url, flow_uuid)
    assert result.ok, result.reason
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    last: dict[str | None, str] = {}
    for row in rows:
        last[row.atom_uuid] = row.new_state
    assert flow.state == last.get(None, "PENDING"), (flow.state, last.get(None))
    for name, atom in flow.atoms.items():
        assert atom.state == last.get(atom.uuid, "PENDING"), (name, atom.state)
    return flow
