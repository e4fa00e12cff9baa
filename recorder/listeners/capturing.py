"""CaptureListener: keep every notification in a list, mostly for tests.

``values`` gets one ``(kind, state, details)`` tuple per event (override
``_format_capture`` to keep something else). It lives in memory only; the
persistent, tamper-evident version of the same facts is
:class:`recorder.listeners.recording.TransitionRecorder`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from recorder.listeners import base

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine


def _freeze(values: Iterable[str] | None) -> frozenset[str]:
    return frozenset(values or ())


class CaptureListener(base.Listener):
    """Appends captured transitions to :attr:`values` (a given list, or a new one)."""

    FLOW = base.FLOW
    """Kind that denotes a 'flow' capture."""
    TASK = base.TASK
    """Kind that denotes a 'task' capture."""
    RETRY = base.RETRY
    """Kind that denotes a 'retry' capture."""

    def __init__(
        self,
        engine: ActionEngine,
        task_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        flow_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        retry_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        capture_flow: bool = True,
        capture_task: bool = True,
        capture_retry: bool = True,
        skip_tasks: Iterable[str] | None = None,
        skip_retries: Iterable[str] | None = None,
        skip_flows: Iterable[str] | None = None,
        values: list[Any] | None = None,
    ) -> None:
        super().__init__(
            engine,
            task_listen_for=task_listen_for,
            flow_listen_for=flow_listen_for,
            retry_listen_for=retry_listen_for,
        )
        self._capture_flow = capture_flow
        self._capture_task = capture_task
        self._capture_retry = capture_retry
        self._skip_tasks = _freeze(skip_tasks)
        self._skip_retries = _freeze(skip_retries)
        self._skip_flows = _freeze(skip_flows)
        self.values: list[Any] = values if values is not None else []

    @staticmethod
    def _format_capture(kind: str, state: str, details: base.Details) -> Any:
        """What is appended to :attr:`values` for one event (override to change it)."""
        return (kind, state, details)

    def _task_receiver(self, state: str, details: base.Details) -> None:
        if self._capture_task and details["task_name"] not in self._skip_tasks:
            self.values.append(self._format_capture(self.TASK, state, details))

    def _retry_receiver(self, state: str, details: base.Details) -> None:
        if self._capture_retry and details["retry_name"] not in self._skip_retries:
            self.values.append(self._format_capture(self.RETRY, state, details))

    def _flow_receiver(self, state: str, details: base.Details) -> None:
        if self._capture_flow and details["flow_name"] not in self._skip_flows:
            self.values.append(self._format_capture(self.FLOW, state, details))
