"""The persistent capture of every state change: :class:`TransitionRecorder`.

It lives in :mod:`recorder.audit.trail` (it is a storage hook, not a notifier
listener); it is importable from here beside TaskFlow's listener modules.
"""

from __future__ import annotations

from recorder.audit.trail import MAX_SUMMARY, TransitionRecorder, recorder_for, summarize

__all__ = ["MAX_SUMMARY", "TransitionRecorder", "recorder_for", "summarize"]
