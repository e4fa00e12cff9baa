"""recorder: run TaskFlow-style flows and record every state change in SQL."""

from __future__ import annotations

from recorder.standard import record

__version__ = "0.1.0"

__all__ = ["record"]
