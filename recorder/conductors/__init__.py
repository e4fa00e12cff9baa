"""Workers that claim jobs from a board and run their stored flows (TaskFlow's conductors).

``recorder.conductors.backends.fetch('blocking', name, board, persistence=url)``;
the rules are in :mod:`recorder.conductors.dispatch`, the loop in
:mod:`recorder.conductors.base`; ``recorder worker`` runs one from the command line.
"""

from __future__ import annotations

from recorder.conductors.backends import fetch
from recorder.conductors.base import Conductor

__all__ = ["Conductor", "fetch"]
