"""One TaskFlow flow's rows in recorder's schema: the ops each :class:`Change` makes.

:class:`FlowTrail` keeps what recorder's own storage keeps for a running flow
(the atoms' details, the chain's head, when each phase started) and turns each
change into the same ops recorder's engine writes for it: the atom or flow
update (fields as :func:`~recorder.storage_api.put_changes` sets them, TaskFlow's
``<STATE>-timestamp`` and ``duration`` meta) and one hash-chained
``transitions`` row (numbered, chained and summarised by
:mod:`recorder.audit.chain` and :func:`recorder.audit.trail.summarize`).

Attempts are counted as recorder counts them: entering RUNNING starts the next
one. After a crash TaskFlow re-runs an atom left RUNNING (or REVERTING) without
telling its listeners it started again: it only sends the end. The trail then
gets the start recorder's engine writes in that case (``RUNNING -> RUNNING``,
``{'resumed': True}``, the next attempt), timed at the start of the resumed run,
the earliest the atom can have started again, since TaskFlow does not say when.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from recorder import states
from recorder.audit.chain import GENESIS_HASH, row_hash
from recorder.audit.trail import summarize
from recorder.integrations.taskflow.events import Change
from recorder.listeners.timing import DURATION_KEY, timestamp_key
from recorder.persistence.models import AtomDetail, FlowDetail, atom_detail_class
from recorder.persistence.ops import (
    AppendTransition,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
)
from recorder.persistence.rows import TRAIL_META_KEY
from recorder.storage_api import put_changes
from recorder.storage_writes import Transition, to_datetime

LOGBOOK_NAME = "taskflow"
"""Name of the logbook the bridge files a TaskFlow flow under (TaskFlow's engine
does not tell which logbook its flow detail belongs to)."""

_BOOKS = uuidlib.UUID("5b0f6f3c-2f6e-4d61-9d4e-7461736b666c")

_INTENTIONS = {
    states.RUNNING: states.EXECUTE,
    states.REVERTING: states.REVERT,
    states.RETRYING: states.RETRY,
    states.IGNORE: states.IGNORE,
    states.PENDING: states.EXECUTE,
}
_STARTS = {states.RUNNING: "execute", states.REVERTING: "revert"}
_ENDS = frozenset(states.RESULT_STATES) | {states.SUSPENDED}


def logbook_uuid_for(flow_uuid: str) -> str:
    """The bridge's logbook for a flow: the same on every run and resumption."""
    return str(uuidlib.uuid5(_BOOKS, flow_uuid))


class FlowTrail:
    """The recorder rows of one TaskFlow flow, continued from what is already stored.

    ``stored`` is the flow as recorder last stored it (None: not yet), ``last``
    the ``(seq, hash)`` of its newest transitions row. Not thread-safe: the
    caller serialises :meth:`ops_for` calls (the chain must not fork).
    """

    def __init__(
        self,
        flow_uuid: str,
        flow_name: str,
        stored: FlowDetail | None = None,
        last: tuple[int, str] | None = None,
    ) -> None:
        self.flow_uuid = flow_uuid
        self.flow_name = flow_name
        self.seq, self.head = last if last is not None else (0, GENESIS_HASH)
        self._saved = stored is not None
        self._mark_trail = stored is None or stored.meta.get(TRAIL_META_KEY) is not True
        self._atoms: dict[str, AtomDetail] = (
            {atom.uuid: atom for atom in stored.atoms.values()} if stored is not None else {}
        )
        self._started: dict[str, tuple[str, float]] = {}  # atom/flow uuid -> (state, when)
        self._run_started: float | None = None

    def ops_for(self, change: Change) -> list[Op]:
        """The ops that store ``change``, in the order they must be applied."""
        at = to_datetime(change.timestamp)
        ops: list[Op] = []
        if not self._saved:
            ops.extend(self._set_up(change, at))
        if change.kind == states.KIND_FLOW:
            if change.new_state == states.RUNNING:
                self._run_started = change.timestamp
            meta = self._timing(self.flow_uuid, change)
            ops.append(UpdateFlow(self.flow_uuid, at, state=change.new_state, meta_patch=meta))
            ops.append(self._row(change, 0, {}))
        else:
            ops.extend(self._atom_ops(change, at))
        if self._mark_trail:
            self._mark_trail = False
            ops.append(UpdateFlow(self.flow_uuid, at, meta_patch={TRAIL_META_KEY: True}))
        return ops

    def _set_up(self, change: Change, at: Any) -> list[Op]:
        self._saved = True
        book = logbook_uuid_for(self.flow_uuid)
        first = change.old_state if change.kind == states.KIND_FLOW else None
        return [
            SaveLogbook(book, LOGBOOK_NAME, {}, at),
            SaveFlow(self.flow_uuid, book, self.flow_name, first or states.PENDING, {}, at),
        ]

    def _atom_ops(self, change: Change, at: Any) -> list[Op]:
        ops: list[Op] = []
        detail = self._atoms.get(change.uuid)
        if detail is None:
            detail = atom_detail_class(change.kind)(name=change.name, uuid=change.uuid)
            detail.state = change.old_state
            self._atoms[change.uuid] = detail
            ops.append(
                SaveAtom(
                    change.uuid,
                    self.flow_uuid,
                    change.name,
                    change.kind,
                    detail.state,
                    detail.intention,
                    None,
                    {},
                    at,
                )
            )
        restarted = change.old_state in _STARTS and change.uuid not in self._started
        if change.new_state in _ENDS and restarted:  # after a crash, unannounced
            ops.extend(self._resumed_start(detail, change))
        if change.new_state == states.RUNNING:
            detail.attempt += 1
        if change.has_result and change.new_state in states.RESULT_STATES:
            changes = put_changes(detail, change.new_state, change.result)
        else:
            changes = {"state": change.new_state}
        if change.new_state in _INTENTIONS:
            changes["intention"] = _INTENTIONS[change.new_state]
        changes["attempt"] = detail.attempt
        for field, value in changes.items():
            setattr(detail, field, value)
        meta = self._timing(change.uuid, change)
        ops.append(UpdateAtom(change.uuid, at, changes, meta))
        result = {"result": change.result} if change.has_result else {}
        ops.append(self._row(change, detail.attempt, result))
        return ops

    def _resumed_start(self, detail: AtomDetail, change: Change) -> list[Op]:
        state = change.old_state or states.RUNNING
        when = self._run_started if self._run_started is not None else change.timestamp
        if state == states.RUNNING:
            detail.attempt += 1
        restart = Change(change.kind, change.name, change.uuid, state, state, when)
        self._started[change.uuid] = (state, when)
        at = to_datetime(when)
        meta = {timestamp_key(state): when}
        return [
            UpdateAtom(change.uuid, at, {"state": state, "attempt": detail.attempt}, meta),
            self._row(restart, detail.attempt, {"resumed": True}),
        ]

    def _timing(self, uuid: str, change: Change) -> dict[str, Any]:
        """TaskFlow's timing meta: when each state was last entered, the latest duration."""
        meta: dict[str, Any] = {timestamp_key(change.new_state): change.timestamp}
        if change.new_state in _STARTS:
            self._started[uuid] = (change.new_state, change.timestamp)
        elif change.new_state in _ENDS:
            started = self._started.pop(uuid, None)
            if started is not None and change.new_state != states.SUSPENDED:
                meta[DURATION_KEY] = max(0.0, change.timestamp - started[1])
        elif change.new_state == states.PENDING:
            self._started.pop(uuid, None)
        return meta

    def _row(self, change: Change, attempt: int, details: dict[str, Any]) -> AppendTransition:
        atom_uuid = None if change.kind == states.KIND_FLOW else change.uuid
        transition = Transition(
            change.kind,
            change.name,
            atom_uuid,
            change.old_state,
            change.new_state,
            change.timestamp,
            attempt,
            details,
        )
        fields: dict[str, Any] = {
            "flow_uuid": self.flow_uuid,
            "atom_uuid": atom_uuid,
            "kind": change.kind,
            "name": change.name,
            "old_state": change.old_state,
            "new_state": change.new_state,
            "at": to_datetime(change.timestamp),
            "attempt": attempt,
            "details": summarize(transition),
            "seq": self.seq + 1,
            "prev_hash": self.head,
        }
        digest = row_hash(fields)
        self.seq, self.head = fields["seq"], digest
        return AppendTransition(hash=digest, **fields)
