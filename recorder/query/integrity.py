"""Read what :func:`recorder.audit.verify_flow` checks from SQL: one flow's stored state
and its transitions rows (in insertion order, ``id``).

The three reads must see one snapshot, or a flow committing a state change
between them would look inconsistent: :func:`snapshot` sets that up (SQLite's
read transaction is one already; PostgreSQL needs REPEATABLE READ).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from recorder.audit_states import TRAIL_META_KEY, StoredAtom, StoredFlow
from recorder.exceptions import StorageError
from recorder.persistence.encoding import decode_meta
from recorder.persistence.schema import atom_details, flow_details, transitions


def _recorded(meta: Any) -> bool:
    if isinstance(meta, str):  # a JSON column read back as text
        try:
            meta = json.loads(meta)
        except ValueError as exc:  # SQLite keeps any text a hand put in a JSON column
            raise StorageError("cannot read stored JSON %.40r: %s" % (meta, exc)) from exc
    return decode_meta(meta).get(TRAIL_META_KEY) is True


def snapshot(conn: Connection) -> Connection:
    """``conn`` reading one snapshot per transaction (a no-op inside a transaction)."""
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def read_stored(conn: Connection, flow_uuid: str) -> tuple[StoredFlow | None, list[Any]]:
    """The flow as flow_details / atom_details hold it (None if absent), and its rows."""
    f, a, t = flow_details.c, atom_details.c, transitions.c
    flow = conn.execute(
        select(f.uuid, f.name, f.state, f.meta).where(f.uuid == flow_uuid)
    ).one_or_none()
    atoms = conn.execute(
        select(a.uuid, a.name, a.kind, a.state, a.attempt)
        .where(a.flow_uuid == flow_uuid)
        .order_by(a.created_at, a.name)
    ).all()
    rows = list(conn.execute(select(transitions).where(t.flow_uuid == flow_uuid).order_by(t.id)))
    if flow is None:
        return None, rows
    stored = tuple(
        StoredAtom(row.uuid, row.name, row.kind, row.state, int(row.attempt or 0)) for row in atoms
    )
    return StoredFlow(flow.uuid, flow.name, flow.state, _recorded(flow.meta), stored), rows
