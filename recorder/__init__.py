"""recorder: run TaskFlow-style flows and record every state change in SQL."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from recorder.standard import record

DISTRIBUTION = "flow-recorder"
"""The name recorder is installed under (``pip install flow-recorder``)."""

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["record"]
