"""Logging listeners: state changes as log records.

:class:`LoggingListener` logs TaskFlow's printing messages at one level.
:class:`DynamicLoggingListener` picks the level from what happened, the way
TaskFlow's code does: ``failure_level`` (WARNING) for flow FAILURE/REVERTED,
atom FAILURE/REVERTED/RETRYING/REVERT_FAILURE and any Failure result, ``level``
(DEBUG) otherwise. A Failure result is logged with its traceback and the
:class:`~recorder.formatters.FailureFormatter` text, which shows the failed
atom's predecessors, so one record explains the failure. Retry atoms are logged
as ``Retry '<name>'`` (TaskFlow skips them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from recorder import states
from recorder.failure import ExcInfo, Failure
from recorder.formatters import AtomNode, FailureFormatter
from recorder.listeners import base

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine

LOG = logging.getLogger(__name__)


class FailFormatter(Protocol):
    """What DynamicLoggingListener needs of a ``fail_formatter``."""

    def format(
        self, fail: Failure, atom_matcher: Callable[[AtomNode], bool]
    ) -> tuple[ExcInfo | None, str]: ...


class LoggingListener(base.DumpingListener):
    """Logs every notification at one ``level`` (DEBUG unless told otherwise).

    The logger is ``log``, else the class attribute ``_LOGGER``, else this
    module's logger (``recorder.listeners.logging``).
    """

    _LOGGER: logging.Logger | None = None

    def __init__(
        self,
        engine: ActionEngine,
        task_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        flow_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        retry_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        log: logging.Logger | None = None,
        level: int = logging.DEBUG,
    ) -> None:
        super().__init__(
            engine,
            task_listen_for=task_listen_for,
            flow_listen_for=flow_listen_for,
            retry_listen_for=retry_listen_for,
        )
        self._logger = log or self._LOGGER or LOG
        self._level = level

    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        self._logger.log(self._level, message, *args, **kwargs)


def _make_matcher(kind: str, name: str) -> Callable[[AtomNode], bool]:
    def matcher(node: AtomNode) -> bool:
        return node.item.kind == kind and node.item.name == name

    return matcher


class DynamicLoggingListener(base.Listener):
    """Logs notifications at a level chosen from the state and the result."""

    _LOGGER: logging.Logger | None = None

    def __init__(
        self,
        engine: ActionEngine,
        task_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        flow_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        retry_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        log: logging.Logger | None = None,
        failure_level: int = logging.WARNING,
        level: int = logging.DEBUG,
        hide_inputs_outputs_of: Iterable[str] = (),
        fail_formatter: FailFormatter | None = None,
        mask_inputs_keys: Iterable[str] = (),
        mask_outputs_keys: Iterable[str] = (),
    ) -> None:
        super().__init__(
            engine,
            task_listen_for=task_listen_for,
            flow_listen_for=flow_listen_for,
            retry_listen_for=retry_listen_for,
        )
        self._failure_level = failure_level
        self._level = level
        self._atom_levels = {
            states.FAILURE: failure_level,
            states.REVERTED: failure_level,
            states.RETRYING: failure_level,
            states.REVERT_FAILURE: failure_level,
        }
        self._flow_levels = {states.FAILURE: failure_level, states.REVERTED: failure_level}
        self._hide_inputs_outputs_of = frozenset(hide_inputs_outputs_of)
        self._logger = log or self._LOGGER or LOG
        self._fail_formatter: FailFormatter = fail_formatter or FailureFormatter(
            engine,
            hide_inputs_outputs_of=self._hide_inputs_outputs_of,
            mask_inputs_keys=frozenset(mask_inputs_keys),
            mask_outputs_keys=frozenset(mask_outputs_keys),
        )

    def _flow_receiver(self, state: str, details: base.Details) -> None:
        self._logger.log(
            self._flow_levels.get(state, self._level),
            "Flow '%s' (%s) transitioned into state '%s' from state '%s'",
            details["flow_name"],
            details["flow_uuid"],
            state,
            details.get("old_state"),
        )

    def _task_receiver(self, state: str, details: base.Details) -> None:
        self._atom_receiver(base.TASK, "Task", state, details)

    def _retry_receiver(self, state: str, details: base.Details) -> None:
        self._atom_receiver(base.RETRY, "Retry", state, details)

    def _atom_receiver(self, kind: str, label: str, state: str, details: base.Details) -> None:
        name, uuid = details[kind + "_name"], details[kind + "_uuid"]
        head = label + " '%s' (%s) transitioned into state '%s' from state '%s'"
        args: tuple[Any, ...] = (name, uuid, state, details["old_state"])
        level = self._atom_levels.get(state, self._level)
        if "result" not in details or state not in base.FINISH_STATES:
            self._logger.log(level, head, *args)
            return
        result = details["result"]
        if isinstance(result, Failure):
            exc_info, text = self._fail_formatter.format(result, _make_matcher(kind, name))
            if text:
                self._logger.log(
                    self._failure_level, head + "%s%s", *args, os.linesep, text, exc_info=exc_info
                )
            else:
                self._logger.log(self._failure_level, head, *args, exc_info=exc_info)
            return
        # Show results only when the listener's own level is on (results can be
        # large or sensitive), and never for atoms whose data is hidden.
        show = self._logger.isEnabledFor(self._level) or state == states.FAILURE
        if show and name not in self._hide_inputs_outputs_of:
            self._logger.log(level, head + " with result '%s'", *args, result)
        else:
            self._logger.log(level, head, *args)
