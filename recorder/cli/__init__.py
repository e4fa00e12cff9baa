"""The ``recorder`` command: thin on purpose (parse, call the library, render).

``main`` is the console script (``recorder = "recorder.cli:main"``; also
``python -m recorder.cli``). The package holds the root group with the exit-code
policy (:mod:`~recorder.cli.root`), the shared options (:mod:`~recorder.cli.options`)
and one module per command family: :mod:`~recorder.cli.db`,
:mod:`~recorder.cli.inspect` (flows, show, timeline, stats),
:mod:`~recorder.cli.verify`, :mod:`~recorder.cli.resume`, :mod:`~recorder.cli.demo`.
"""

from __future__ import annotations

from recorder.cli.root import main

__all__ = ["main"]
