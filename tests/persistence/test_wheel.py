"""The built wheel carries the migrations: `recorder db upgrade` works from an install.

Builds the wheel, installs it (without dependencies) into a fresh venv that sees
this environment's site-packages only through a .pth line (so SQLAlchemy and
friends import, but ``recorder`` comes from the wheel), and migrates a new
SQLite file with the installed console script.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (args, result.stdout, result.stderr)
    return result.stdout


def test_wheel_installs_and_migrates(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build: list[str | Path] = [sys.executable, "-m", "build", "--wheel", "--outdir", dist]
    if importlib.util.find_spec("hatchling") is not None:
        build.append("--no-isolation")  # no download needed
    _run(*build, ROOT, cwd=ROOT)
    (wheel,) = dist.glob("flow_recorder-*.whl")  # the distribution is flow-recorder
    names = zipfile.ZipFile(wheel).namelist()
    assert "recorder/py.typed" in names  # type checkers use the package's annotations
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "recorder/_migrations/env.py" in names
    assert "recorder/_migrations/script.py.mako" in names
    assert {"recorder/_migrations/versions/0001_initial_tables.py"} <= set(names)

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel, cwd=tmp_path)

    where = _run(
        python,
        "-c",
        "import recorder.persistence.migrate as m; print(m.script_location())",
        cwd=tmp_path,
    )
    assert Path(where.strip()) == site / "recorder" / "_migrations"
    installed = _run(python, "-c", "import recorder; print(recorder.__version__)", cwd=tmp_path)
    assert installed.strip() == importlib.metadata.version("flow-recorder")

    database = tmp_path / "x.db"
    out = _run(
        venv / "bin" / "recorder", "db", "upgrade", "--db", "sqlite:///%s" % database, cwd=tmp_path
    )
    assert "upgraded from none to 0007_jobs" in out
    out = _run(
        venv / "bin" / "recorder", "--db", "sqlite:///%s" % database, "db", "check", cwd=tmp_path
    )
    assert out.startswith("no drift")
