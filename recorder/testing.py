"""Helpers for testing code built on recorder: record a run in memory, or build a trail.

Two needs come up in every test suite around recorded flows:

* **what did this run record?** :func:`record_run` runs a flow with the
  standard recording set on a :class:`~recorder.persistence.memory.MemoryBackend`
  (or a backend you give, e.g. a SQLite file) and returns a
  :class:`RecordedRun`: the stored flow, its transitions rows, the error the run
  raised (if any) and a verify result, so a test asserts on what was stored, not
  on what the engine meant to store;
* **rows without running anything:** :class:`TrailBuilder` appends transitions
  rows the way the engine numbers them (seq per flow, attempt per atom) and
  chains their hashes, for testing timeline, stats or verify code on exactly
  the history a test needs.

Example::

    from recorder import testing
    run = testing.record_run(my_flow, store={"amount": 42})
    assert run.error is None and run.verified.ok
    assert run.states("charge") == ["RUNNING", "SUCCESS"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from recorder import engines, states
from recorder.audit.chain import GENESIS_HASH, VerifyResult, row_hash
from recorder.audit.verify import verify_flow
from recorder.flow import Flow
from recorder.persistence.base import Backend
from recorder.persistence.memory import MemoryBackend
from recorder.persistence.models import FlowDetail
from recorder.persistence.rows import FIELD_NAMES, TransitionRow
from recorder.standard import record

__all__ = ["T0", "RecordedRun", "TrailBuilder", "record_run"]

T0 = datetime(2024, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
"""Where a :class:`TrailBuilder`'s clock starts (``t`` seconds are added to it)."""


@dataclass(frozen=True)
class RecordedRun:
    """What one recorded run left in its backend."""

    flow: FlowDetail
    transitions: list[TransitionRow]
    error: BaseException | None
    verified: VerifyResult
    backend: Backend

    def states(self, name: str | None = None) -> list[str]:
        """The states ``name`` (an atom, or the flow when None) entered, in order."""
        if name is None:
            return [r.new_state for r in self.transitions if r.kind == states.KIND_FLOW]
        return [r.new_state for r in self.transitions if r.name == name and r.atom_uuid]


def record_run(
    flow: Flow,
    store: Mapping[str, Any] | None = None,
    *,
    backend: Backend | None = None,
    **load_options: Any,
) -> RecordedRun:
    """Run ``flow`` with ``recorder.record`` on ``backend`` (a new MemoryBackend by
    default) and return what was stored. A run that raises is recorded too: its
    exception is in :attr:`RecordedRun.error`, not raised."""
    target: Backend = backend if backend is not None else MemoryBackend()
    engine = engines.load(flow, store=store, backend=target, **load_options)
    error: BaseException | None = None
    with record(engine):
        try:
            engine.run()
        except Exception as exc:  # the run's outcome is what the test inspects
            error = exc
    target.flush()
    uuid = engine.storage.flow_uuid
    return RecordedRun(
        flow=target.load_flow(uuid),
        transitions=list(target.load_transitions(uuid)),
        error=error,
        verified=verify_flow(target, uuid),
        backend=target,
    )


@dataclass
class TrailBuilder:
    """Transitions rows appended by hand, numbered and chained as the engine does.

    ``t`` arguments are seconds after :data:`T0`. Atom uuids are ``uuid-<name>``.
    """

    flow_name: str = "flow"
    flow_uuid: str = "flow-uuid"
    rows: list[TransitionRow] = field(default_factory=list)
    _states: dict[str | None, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # raise one to mimic a re-run
    _kinds: dict[str, str] = field(default_factory=dict)

    def flow(self, new: str, t: float) -> TrailBuilder:
        """The flow moves to ``new`` at ``t``."""
        self._add(states.KIND_FLOW, self.flow_name, None, new, t, 0, {})
        return self

    def atom(
        self,
        name: str,
        new: str,
        t: float,
        *,
        kind: str = states.KIND_TASK,
        failure: tuple[str, str] | None = None,
        result: str | None = None,
    ) -> TrailBuilder:
        """Atom ``name`` moves to ``new`` at ``t``; entering RUNNING starts an attempt.
        ``failure`` is (type name, message); ``result`` a repr."""
        kind = self._kinds.setdefault(name, kind)
        if new == states.RUNNING:
            self.attempts[name] = self.attempts.get(name, 0) + 1
        details: dict[str, Any] = {}
        if failure is not None:
            details = {"failure": {"type": failure[0], "message": failure[1]}}
        elif result is not None:
            details = {"result": {"type": "str", "repr": result}}
        self._add(kind, name, "uuid-" + name, new, t, self.attempts.get(name, 0), details)
        return self

    def run(self, name: str, start: float, end: float, ok: bool = True, **kw: Any) -> TrailBuilder:
        """One execution of ``name``: RUNNING, then SUCCESS or a FAILURE."""
        self.atom(name, states.RUNNING, start, **kw)
        if ok:
            return self.atom(name, states.SUCCESS, end, result="r", **kw)
        return self.atom(name, states.FAILURE, end, failure=("RuntimeError", name + " broke"), **kw)

    def revert(
        self, name: str, start: float, end: float, ok: bool = True, **kw: Any
    ) -> TrailBuilder:
        """One revert of ``name``: REVERTING, then REVERTED or REVERT_FAILURE."""
        self.atom(name, states.REVERTING, start, **kw)
        if ok:
            return self.atom(name, states.REVERTED, end, **kw)
        failure = ("OSError", name + " revert broke")
        return self.atom(name, states.REVERT_FAILURE, end, failure=failure, **kw)

    def _add(
        self,
        kind: str,
        name: str,
        atom_uuid: str | None,
        new: str,
        t: float,
        attempt: int,
        details: dict[str, Any],
    ) -> None:
        key = atom_uuid
        facts: dict[str, Any] = {
            "flow_uuid": self.flow_uuid,
            "atom_uuid": atom_uuid,
            "kind": kind,
            "name": name,
            "old_state": self._states.get(key, states.PENDING),
            "new_state": new,
            "at": T0 + timedelta(microseconds=round(t * 1_000_000)),
            "seq": len(self.rows) + 1,
            "attempt": attempt,
            "details": details,
            "prev_hash": self.rows[-1].hash if self.rows else GENESIS_HASH,
        }
        facts["hash"] = row_hash(facts)
        self._states[key] = new
        row = TransitionRow(**{name: facts[name] for name in FIELD_NAMES}, id=len(self.rows) + 1)
        self.rows.append(row)
