"""CLI tests: reuse the query tests' helpers (real runs into a database)."""

from __future__ import annotations

import sys
from pathlib import Path

QUERY_TESTS = str(Path(__file__).resolve().parent.parent / "query")
CLI_TESTS = str(Path(__file__).resolve().parent)  # flow factories `recorder resume` imports
for folder in (QUERY_TESTS, CLI_TESTS):
    if folder not in sys.path:
        sys.path.insert(0, folder)
