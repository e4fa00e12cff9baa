"""How the command starts: the console script, ``python -m recorder.cli``,
``--version``, and ``--help`` without loading SQLAlchemy or the query layer."""

from __future__ import annotations

import ast
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import click
from click.testing import CliRunner

import recorder
from recorder.cli import main
from recorder.cli.root import COMMANDS
from tests.cli.clitree import commands

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


def _long_options(command: click.Command) -> set[str]:
    return {o for p in command.params if isinstance(p, click.Option) for o in p.opts}


def _examples(path: tuple[str, ...]) -> list[str]:
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=60)
    assert result.exit_code == 0, path
    _, _, examples = result.output.partition("\n  Examples:\n")
    return examples.split("\n\n")[0].splitlines()


def test_every_command_shows_examples_unwrapped() -> None:
    for path in sorted(commands(main)):
        lines = _examples(path)
        assert 1 <= len(lines) <= 3, (path, lines)
        for line in lines:  # one invocation per line, never rewrapped
            assert line.startswith("    recorder ") and " ".join(path) in line, (path, line)


def _parse(argv: list[str]) -> click.Command:
    """The command ``argv`` names, its options and arguments checked (not run)."""
    command: click.Command = main
    ctx = main.make_context("recorder", argv)
    while isinstance(command, click.Group):
        with warnings.catch_warnings():  # click 9 leaves every unparsed token in ctx.args
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*getattr(ctx, "protected_args", []), *ctx.args]
        name, sub, rest = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)
    return command


def test_every_example_is_a_valid_invocation() -> None:
    for path in sorted(commands(main)):
        for line in _examples(path):
            argv = shlex.split(line.split(" > ")[0])[1:]
            subtree = commands(commands(main)[path]).values()
            assert _parse(argv) in subtree, line


def test_every_command_takes_db_after_its_name() -> None:
    for path, command in commands(main).items():
        if not isinstance(command, click.Group):
            assert "--db" in _long_options(command), path


def test_no_command_module_imports_the_root_group() -> None:
    """Imports point one way: root.py adds the commands; they import options and common."""
    package = Path(recorder.__file__).parent / "cli"
    for module in sorted(package.glob("*.py")):
        if module.name in ("__init__.py", "__main__.py", "root.py"):
            continue
        imported: set[str] = set()
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update("%s.%s" % (node.module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert not imported & {"recorder.cli", "recorder.cli.root", "recorder.cli.main"}, module
