"""docs/database.md promises what a crash or a failed write costs, and names the tests
that hold it to that: every test it names must exist and be about that promise."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "database.md").read_text()


def test_every_test_the_crash_section_names_exists_and_kills_or_fails_writes() -> None:
    section = DOC[DOC.index("### What a crash or a failed write can cost") :]
    named = set(re.findall(r"`(tests/[\w/]+\.py)`", section))
    assert len(named) >= 4
    for path in sorted(named):
        text = (ROOT / path).read_text()
        assert re.search(r"SIGKILL|refuse_transitions|WriteFailed", text), path


def test_the_crash_table_covers_both_modes_and_both_faults() -> None:
    table = DOC[DOC.index("| | durable | batched |") :].split("\n\n")[0]
    for row in ("process killed", "write fails for good", "what runs again on resume"):
        assert row in table
