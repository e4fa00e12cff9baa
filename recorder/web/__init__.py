"""``recorder serve``: a read-only web view of a recorder database (the ``web`` extra).

:mod:`~recorder.web.app` builds the ASGI app (Starlette; served by uvicorn) on one
database URL; :mod:`~recorder.web.pages` renders the flows, flow and per-name
stats pages; :mod:`~recorder.web.api` answers under ``/api/`` with the same JSON
documents as the CLI's ``--json``; :mod:`~recorder.web.assets` serves the
scripts and styles from the package, so a page never asks the network for
anything. Every read goes through :mod:`recorder.query`.
"""

from __future__ import annotations
