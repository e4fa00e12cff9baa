"""The README's porting example runs on TaskFlow and on recorder with only the import
root changed, prints the same, and leaves a verifying trail on recorder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    text = README.read_text()
    start = text.index("```python\n", text.index("<!-- port-example -->")) + len("```python\n")
    return text[start : text.index("```", start)]


def _run(program: str, cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_the_port_example_runs_on_both_and_records_a_trail(tmp_path: Path) -> None:
    program = _example()
    assert "taskflow" not in program and "from recorder" in program
    (tmp_path / "taskflow").mkdir()
    (tmp_path / "recorder").mkdir()
    on_taskflow = _run(program.replace("recorder", "taskflow"), tmp_path / "taskflow")
    on_recorder = _run(program, tmp_path / "recorder")
    assert on_recorder == on_taskflow == "HELLO WORLD\n"
    url = "sqlite:///%s" % (tmp_path / "recorder" / "port.db")
    verified = CliRunner().invoke(main, ["--db", url, "verify"])
    assert verified.exit_code == 0 and "6 transition rows verified" in verified.output
