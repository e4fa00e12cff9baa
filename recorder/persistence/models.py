"""Plain records of what is persisted: logbooks, flow details and atom details.

These mirror TaskFlow's ``taskflow.persistence.models`` (a logbook holds flow
details, a flow detail holds atom details) so code that reads them ports by
changing the import root. They are plain Python objects: the engine's storage
keeps them in memory as the truth for a running flow, and backends turn them
into rows (see :mod:`recorder.persistence.schema`) and back.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

TASK = "task"
RETRY = "retry"


def utcnow() -> datetime:
    """Timezone-aware UTC now; every persisted time is one of these."""
    return datetime.now(timezone.utc)


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass
class AtomDetail:
    """The stored state of one task or retry atom of a flow.

    ``results`` is the task's result (or, for a retry, the list of
    ``(result, {atom name: Failure})`` pairs, one per attempt); ``failure`` is the
    :class:`~recorder.failure.Failure` of a failed execute, ``revert_results`` /
    ``revert_failure`` the same for revert. ``attempt`` counts how often the atom
    entered RUNNING; it survives resumption.
    """

    name: str
    uuid: str = field(default_factory=new_uuid)
    kind: str = TASK
    state: str | None = None
    intention: str = "EXECUTE"
    version: str | None = None
    results: Any = None
    failure: Any = None
    revert_results: Any = None
    revert_failure: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime | None = None


# TaskFlow names for the two kinds of atom detail.
TaskDetail = AtomDetail
RetryDetail = AtomDetail


@dataclass
class FlowDetail:
    """The stored state of one flow run and its atoms, keyed by atom name."""

    name: str
    uuid: str = field(default_factory=new_uuid)
    logbook_uuid: str | None = None
    state: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    atoms: dict[str, AtomDetail] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime | None = None

    def add(self, atom: AtomDetail) -> None:
        self.atoms[atom.name] = atom

    def find(self, atom_uuid: str) -> AtomDetail | None:
        for atom in self.atoms.values():
            if atom.uuid == atom_uuid:
                return atom
        return None

    def __iter__(self) -> Iterator[AtomDetail]:
        return iter(list(self.atoms.values()))

    def __len__(self) -> int:
        return len(self.atoms)


@dataclass
class LogBook:
    """A named collection of flow details (one per flow run)."""

    name: str
    uuid: str = field(default_factory=new_uuid)
    meta: dict[str, Any] = field(default_factory=dict)
    flows: dict[str, FlowDetail] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime | None = None

    def add(self, flow_detail: FlowDetail) -> None:
        flow_detail.logbook_uuid = self.uuid
        self.flows[flow_detail.uuid] = flow_detail

    def find(self, flow_uuid: str) -> FlowDetail | None:
        return self.flows.get(flow_uuid)

    def __iter__(self) -> Iterator[FlowDetail]:
        return iter(list(self.flows.values()))

    def __len__(self) -> int:
        return len(self.flows)
