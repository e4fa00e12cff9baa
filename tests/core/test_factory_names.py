"""The factory recorded by load_from_factory must be importable by another process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
from recorder import engines
from recorder.exceptions import InvalidArgument
from recorder.patterns import linear_flow

def make():
    return linear_flow.Flow("f")

try:
    engine = engines.load_from_factory(make)
except InvalidArgument as exc:
    print("refused:", exc)
else:
    print("recorded:", engine.storage.flow_meta["factory"]["name"])
"""


def run(tmp_path: Path, *args: str) -> str:
    (tmp_path / "flowmod.py").write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_a_module_run_with_dash_m_is_recorded_by_its_import_name(tmp_path: Path) -> None:
    assert run(tmp_path, "-m", "flowmod") == "recorded: flowmod.make"


def test_a_factory_in_a_plain_script_is_refused_with_the_reason(tmp_path: Path) -> None:
    said = run(tmp_path, "flowmod.py")
    assert said.startswith("refused: flow factory make is defined in a script (__main__)")
