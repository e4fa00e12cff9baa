"""TaskFlow's notifier callbacks as plain :class:`Change` records.

TaskFlow's details carry no timestamp, attempt or flow id on atom events
(``{task_name, task_uuid, old_state}`` plus ``result`` on SUCCESS, FAILURE,
REVERTED and REVERT_FAILURE; retries the same with ``retry_*`` keys), and a
failure comes as ``taskflow.types.failure.Failure``. This module reads those
shapes and nothing else: the time of a change is when the callback ran
(TaskFlow persists before it notifies, so it is a little after the change), and a
TaskFlow failure becomes recorder's :class:`~recorder.failure.Failure` through its
``to_dict()``, so failures are summarised exactly as for recorder's own engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recorder import states
from recorder.exceptions import InvalidArgument
from recorder.failure import Failure

NO_RESULT = object()
"""``Change.result`` of an event that carries none."""


@dataclass(frozen=True)
class Change:
    """One TaskFlow state change: ``kind`` is 'flow', 'task' or 'retry'."""

    kind: str
    name: str
    uuid: str
    old_state: str | None
    new_state: str
    timestamp: float
    result: Any = NO_RESULT

    @property
    def has_result(self) -> bool:
        return self.result is not NO_RESULT


def as_recorder_failure(value: Any) -> Any:
    """``value``, with a TaskFlow Failure turned into recorder's (other values unchanged)."""
    if isinstance(value, Failure) or type(value).__name__ != "Failure":
        return value
    to_dict = getattr(value, "to_dict", None)
    if to_dict is None:
        return value
    try:
        return Failure.from_dict(to_dict())
    except InvalidArgument:
        return value


def flow_change(state: str, details: Mapping[str, Any]) -> Change:
    """A flow event (``{engine, flow_name, flow_uuid, old_state}``)."""
    return Change(
        states.KIND_FLOW,
        str(details["flow_name"]),
        str(details["flow_uuid"]),
        details.get("old_state"),
        state,
        time.time(),
    )


def atom_change(state: str, details: Mapping[str, Any]) -> Change:
    """A task or retry event; raises KeyError for a shape TaskFlow does not send."""
    kind = states.KIND_RETRY if "retry_name" in details else states.KIND_TASK
    result = as_recorder_failure(details["result"]) if "result" in details else NO_RESULT
    return Change(
        kind,
        str(details[kind + "_name"]),
        str(details[kind + "_uuid"]),
        details.get("old_state"),
        state,
        time.time(),
        result,
    )
