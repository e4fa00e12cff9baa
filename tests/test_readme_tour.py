"""The README's tour can be run as printed: the resume example fails, is resumed by
``recorder resume`` and succeeds; and the tour shows ``recorder serve``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent


def _after(marker: str, fence: str) -> str:
    text = README.read_text("utf-8")
    start = text.index(fence, text.index(marker)) + len(fence)
    end = text.index("```", start) if fence.startswith("```") else text.index("\n\n", start)
    return text[start:end]


def _commands() -> list[str]:
    block = _after("<!-- resume-commands -->", "\n")
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [line.replace(".venv/bin/", "%s/" % BIN) for line in lines if line]


@pytest.mark.slow
def test_the_resume_example_runs_as_printed(tmp_path: Path) -> None:
    (tmp_path / "shipping.py").write_text(_after("<!-- resume-example -->", "```python\n"))
    env = {k: v for k, v in os.environ.items() if k != "RECORDER_DATABASE_URL"}
    upgrade = [str(BIN / "recorder"), "db", "upgrade"]
    subprocess.run(upgrade, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    outputs = []
    for command in _commands():
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert len(outputs) == 4
    assert outputs[0].startswith("failed: courier unavailable")
    assert "state SUCCESS  runs 2" in outputs[3]


def test_the_tour_shows_serve_compare_and_the_web_extra() -> None:
    text = README.read_text("utf-8")
    tour = text[text.index("## A short tour") : text.index("## Porting a TaskFlow program")]
    for needle in ("recorder serve", "recorder compare", "'.[web]'", "recorder resume"):
        assert needle in tour, needle


def test_the_readme_says_to_create_the_postgresql_database() -> None:
    text = README.read_text("utf-8")
    section = text[text.index("## PostgreSQL") :]
    assert "createdb" in section.split("docker compose up")[0]
