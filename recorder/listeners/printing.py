"""PrintingListener: every state change as one line on stdout (or stderr).

The lines are TaskFlow's, word for word, so the seed's examples print what its
documentation shows; a failure also prints its traceback.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from recorder.listeners import base

if TYPE_CHECKING:
    from recorder.engines.action_engine.engine import ActionEngine


class PrintingListener(base.DumpingListener):
    """Writes the task, retry and flow notification messages to stdout or stderr."""

    def __init__(
        self,
        engine: ActionEngine,
        task_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        flow_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        retry_listen_for: Iterable[str] | None = base.DEFAULT_LISTEN_FOR,
        stderr: bool = False,
    ) -> None:
        super().__init__(
            engine,
            task_listen_for=task_listen_for,
            flow_listen_for=flow_listen_for,
            retry_listen_for=retry_listen_for,
        )
        self._stderr = stderr

    def _dump(self, message: str, *args: Any, **kwargs: Any) -> None:
        # Look the stream up per message: doctest and pytest swap sys.stdout.
        stream = sys.stderr if self._stderr else sys.stdout
        print(message % args, file=stream)
        exc_info = kwargs.get("exc_info")
        if exc_info is not None:
            traceback.print_exception(exc_info[0], exc_info[1], exc_info[2], file=stream)
