"""Build transitions rows by hand, the way the engine writes them (for pure tests).

Imported by the pure query tests through ``conftest.py``'s ``trail`` fixture,
so no test has to know how rows are numbered or how attempts are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

T0 = datetime(2024, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds`` (microsecond precision, like the database)."""
    return T0 + timedelta(microseconds=round(seconds * 1_000_000))


@dataclass(frozen=True)
class Row:
    kind: str
    name: str
    atom_uuid: str | None
    old_state: str | None
    new_state: str
    at: datetime
    seq: int
    attempt: int
    details: dict[str, Any]


@dataclass
class Trail:
    """Append rows with engine-like numbering: seq per flow, attempt per atom."""

    flow_name: str = "flow"
    rows: list[Row] = field(default_factory=list)
    states: dict[str, str | None] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def flow(self, new: str, t: float) -> Trail:
        old = self.states.get("<flow>", "PENDING")
        self._add("flow", self.flow_name, None, old, new, t, 0, {})
        self.states["<flow>"] = new
        return self

    def atom(
        self,
        name: str,
        new: str,
        t: float,
        *,
        kind: str = "task",
        failure: tuple[str, str] | None = None,
        result: str | None = None,
    ) -> Trail:
        self.kinds.setdefault(name, kind)
        old = self.states.get(name, "PENDING")
        if new == "RUNNING":
            self.attempts[name] = self.attempts.get(name, 0) + 1
        details: dict[str, Any] = {}
        if failure is not None:
            details = {"failure": {"type": failure[0], "message": failure[1]}}
        elif result is not None:
            details = {"result": {"type": "str", "repr": result}}
        self._add(
            self.kinds[name], name, "uuid-" + name, old, new, t, self.attempts.get(name, 0), details
        )
        self.states[name] = new
        return self

    def _add(
        self,
        kind: str,
        name: str,
        atom_uuid: str | None,
        old: str | None,
        new: str,
        t: float,
        attempt: int,
        details: dict[str, Any],
    ) -> None:
        self.rows.append(
            Row(kind, name, atom_uuid, old, new, at(t), len(self.rows) + 1, attempt, details)
        )

    # Shorthands for whole phases.
    def run(self, name: str, start: float, end: float, ok: bool = True, **kw: Any) -> Trail:
        self.atom(name, "RUNNING", start, **kw)
        if ok:
            return self.atom(name, "SUCCESS", end, result="r", **kw)
        return self.atom(name, "FAILURE", end, failure=("RuntimeError", name + " broke"), **kw)

    def revert(self, name: str, start: float, end: float, ok: bool = True, **kw: Any) -> Trail:
        self.atom(name, "REVERTING", start, **kw)
        if ok:
            return self.atom(name, "REVERTED", end, **kw)
        return self.atom(
            name, "REVERT_FAILURE", end, failure=("IOError", name + " revert broke"), **kw
        )
