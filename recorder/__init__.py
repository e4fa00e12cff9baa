"""recorder: run TaskFlow-style flows and record every state change in SQL."""

from __future__ import annotations

__version__ = "0.1.0"
