"""How the command starts: the console script, ``python -m recorder.cli``,
``--version``, and ``--help`` without loading SQLAlchemy or the query layer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

import recorder
from recorder.cli import main
from recorder.cli.root import COMMANDS

RECORDER = shutil.which("recorder", path=str(Path(sys.executable).parent)) or "recorder"


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == "recorder, version %s\n" % recorder.__version__


def test_python_dash_m_runs_the_same_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "recorder.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "recorder, version %s\n" % recorder.__version__


def test_the_console_script_shows_every_command() -> None:
    out = subprocess.run([RECORDER, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for command in COMMANDS:
        assert "  %s " % command.name in out.stdout


def test_help_loads_neither_sqlalchemy_nor_the_readers() -> None:
    code = (
        "import sys\n"
        "from recorder.cli import main\n"
        "try:\n"
        "    main(['--help'], standalone_mode=False)\n"
        "finally:\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'\n"
        "                    or m.startswith(('recorder.query.reads', 'recorder.render',\n"
        "                                     'recorder.persistence.sql', 'alembic')))\n"
        "    print(loaded, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "[]"


def _paths(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found.extend(_paths(sub, (*path, name)))
    return found


def test_every_command_shows_examples_unwrapped() -> None:
    for path in _paths(main):
        result = CliRunner().invoke(main, [*path, "--help"], terminal_width=60)
        assert result.exit_code == 0, path
        _, _, examples = result.output.partition("\n  Examples:\n")
        lines = examples.split("\n\n")[0].splitlines()
        assert 1 <= len(lines) <= 3, (path, result.output)
        for line in lines:  # one invocation per line, never rewrapped
            assert line.startswith("    recorder ") and " ".join(path) in line, (path, line)
