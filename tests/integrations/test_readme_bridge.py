"""The README's bridge example runs as printed and leaves a trail that verifies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.cli import main
from recorder.persistence import migrate

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text()
    start = text.index("```python\n", text.index("<!-- bridge-example -->")) + len("```python\n")
    return text[start : text.index("```", start)]


@pytest.mark.slow
def test_the_bridge_example_records_a_verifying_trail(tmp_path: Path) -> None:
    url = "sqlite:///%s" % (tmp_path / "recorder.db")
    migrate.upgrade(url)
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}  # oslo_utils' import
    out = subprocess.run(
        [sys.executable, "-c", _example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    verified = CliRunner().invoke(main, ["--db", url, "verify"])
    assert verified.exit_code == 0 and "4 transition rows verified" in verified.output
    timeline = CliRunner().invoke(main, ["--db", url, "timeline", "greet"])
    assert timeline.exit_code == 0 and "source: transitions" in timeline.output
