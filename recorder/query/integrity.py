"""Check recorded flows against their hash chains (the CLI's ``recorder verify``).

:func:`recorder.audit.verify_chain` finds rows that were altered, removed,
inserted or moved anywhere but at the end. A flow whose stored state is final
also tells where its chain must end: at the flow's own transition into that
state. A trail that stops earlier has lost rows off its end, which the chain
alone cannot show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from recorder.audit import verify_chain
from recorder.persistence.schema import transitions
from recorder.query.model import JSON
from recorder.query.records import FlowRecord

FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "REVERTED", "SUSPENDED"})


@dataclass(frozen=True)
class FlowCheck:
    """The verdict for one flow: ``ok``, or ``reason`` and ``first_bad_seq``."""

    flow_uuid: str
    flow_name: str
    ok: bool
    rows: int
    reason: str
    first_bad_seq: int | None = None

    @property
    def has_trail(self) -> bool:
        return self.rows > 0 or not self.ok

    def to_json(self) -> JSON:
        return {
            "flow_uuid": self.flow_uuid,
            "flow_name": self.flow_name,
            "ok": self.ok,
            "rows": self.rows,
            "reason": self.reason,
            "first_bad_seq": self.first_bad_seq,
        }


def _rows(conn: Connection, flow_uuid: str) -> Sequence[Row[Any]]:
    t = transitions.c
    stmt = select(transitions).where(t.flow_uuid == flow_uuid).order_by(t.id)
    return list(conn.execute(stmt))


def check_flow(conn: Connection, flow: FlowRecord) -> FlowCheck:
    """Verify one flow's chain, and that it reaches the flow's final state if it has one."""
    rows = _rows(conn, flow.uuid)
    result = verify_chain(rows)
    if not result.ok:
        return FlowCheck(
            flow.uuid, flow.name, False, result.checked, result.reason, result.first_bad_seq
        )
    if not rows:
        return FlowCheck(flow.uuid, flow.name, True, 0, "no transitions recorded")
    last = rows[-1]
    if flow.state in FINAL_STATES and not (last.kind == "flow" and last.new_state == flow.state):
        seq = int(last.seq)
        reason = (
            "the flow is %s but its trail ends at row %d (%s %s -> %s): rows after it are missing"
            % (
                flow.state,
                seq,
                last.name,
                last.old_state,
                last.new_state,
            )
        )
        return FlowCheck(flow.uuid, flow.name, False, len(rows), reason, seq + 1)
    return FlowCheck(flow.uuid, flow.name, True, len(rows), "ok: %d rows" % len(rows))
