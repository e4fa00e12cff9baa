"""Plain records of what is persisted: logbooks, flow details and atom details.

These mirror TaskFlow's ``taskflow.persistence.models`` (a logbook holds flow
details, a flow detail holds atom details) so code that reads them ports by
changing the import root. They are plain Python objects: the engine's storage
keeps them in memory as the truth for a running flow, and backends turn them
into rows (see :mod:`recorder.persistence.schema`) and back.
"""

from __future__ import annotations

import copy
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from recorder.exceptions import InvalidType

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

    def update(self, other: AtomDetail) -> AtomDetail:
        """Take every field of ``other`` (by reference), as TaskFlow's ``update`` does."""
        if other is not self:
            for f in fields(self):
                setattr(self, f.name, getattr(other, f.name))
        return self

    def merge(self, other: AtomDetail, deep_copy: bool = False) -> AtomDetail:
        """Take the fields of ``other`` that differ (copied when ``deep_copy``)."""
        if other is not self:
            for f in fields(self):
                value = getattr(other, f.name)
                if getattr(self, f.name) != value:
                    setattr(self, f.name, copy.deepcopy(value) if deep_copy else value)
        return self

    def copy(self) -> AtomDetail:
        """A copy whose meta (and retry history list) can change on their own."""
        clone = copy.copy(self)
        clone.meta = dict(self.meta)
        if isinstance(self.results, list):
            clone.results = list(self.results)
        return clone


@dataclass
class TaskDetail(AtomDetail):
    """The detail of a task atom (TaskFlow's ``models.TaskDetail``)."""

    kind: str = TASK


@dataclass
class RetryDetail(AtomDetail):
    """The detail of a retry atom; ``results`` is its history, one pair per attempt."""

    kind: str = RETRY
    results: Any = field(default_factory=list)


_DETAIL_CLASSES: dict[str, type[AtomDetail]] = {TASK: TaskDetail, RETRY: RetryDetail}
_DETAIL_NAMES = {"TaskDetail": TASK, "RetryDetail": RETRY}


def atom_detail_class(kind: str) -> type[AtomDetail]:
    """The detail class for an atom kind (``task``/``retry``, or TaskFlow's class names)."""
    try:
        return _DETAIL_CLASSES[_DETAIL_NAMES.get(kind, kind)]
    except KeyError:
        raise InvalidType("Unknown atom detail type %r" % (kind,)) from None


def atom_detail_type(detail: AtomDetail) -> str:
    """TaskFlow's name for the type of ``detail`` (``TaskDetail`` or ``RetryDetail``)."""
    return "RetryDetail" if detail.kind == RETRY else "TaskDetail"


def new_atom_detail(kind: str, **values: Any) -> AtomDetail:
    """An atom detail of the class that matches ``kind``."""
    return atom_detail_class(kind)(kind=kind, **values)


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

    def update(self, other: FlowDetail) -> FlowDetail:
        """Take ``other``'s atoms, state and meta (by reference), as TaskFlow does."""
        if other is not self:
            self.atoms = other.atoms
            self.state = other.state
            self.meta = other.meta
        return self

    def merge(self, other: FlowDetail, deep_copy: bool = False) -> FlowDetail:
        """Take ``other``'s meta and state when they differ (not its atoms)."""
        if other is not self:
            if self.meta != other.meta:
                self.meta = copy.deepcopy(other.meta) if deep_copy else other.meta
            self.state = other.state
        return self

    def copy(self, retain_contents: bool = True) -> FlowDetail:
        """A shallow copy: its own atoms mapping (same atom details) and meta."""
        clone = copy.copy(self)
        clone.atoms = dict(self.atoms) if retain_contents else {}
        clone.meta = dict(self.meta)
        return clone

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

    def merge(self, other: LogBook, deep_copy: bool = False) -> LogBook:
        """Take ``other``'s meta and times when they differ (not its flows)."""
        if other is not self:
            if self.meta != other.meta:
                self.meta = copy.deepcopy(other.meta) if deep_copy else other.meta
            self.created_at = other.created_at
            self.updated_at = other.updated_at
        return self

    def copy(self, retain_contents: bool = True) -> LogBook:
        """A shallow copy: its own flows mapping (same flow details) and meta."""
        clone = copy.copy(self)
        clone.flows = dict(self.flows) if retain_contents else {}
        clone.meta = dict(self.meta)
        return clone

    def __iter__(self) -> Iterator[FlowDetail]:
        return iter(list(self.flows.values()))

    def __len__(self) -> int:
        return len(self.flows)
