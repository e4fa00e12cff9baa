"""Record real TaskFlow engines with recorder: ``with record(engine, backend=url): engine.run()``.

For programs that keep running on OpenStack TaskFlow: the flow's state changes
are written into recorder's tables (flow and atom rows, the hash-chained
``transitions`` trail, TaskFlow's timing meta), so ``recorder timeline``,
``stats``, the Gantt page and ``verify`` work on them without porting.
"""

from recorder.integrations.taskflow.bridge import (
    RecordingIncomplete,
    TaskFlowRecorder,
    record,
)

__all__ = ["RecordingIncomplete", "TaskFlowRecorder", "record"]
