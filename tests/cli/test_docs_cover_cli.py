"""docs/cli.md documents the whole click tree: every command, and every option (by
its long name) in that command's entry; the options every command shares with the
root (``--db``, ``--help``) once, before the commands."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import click

from recorder.cli import main
from tests.cli.clitree import Path_, commands

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _long_options(command: click.Command) -> set[str]:
    names: set[str] = set()
    for param in command.get_params(click.Context(command)):
        if isinstance(param, click.Option):
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def _entries(text: str) -> tuple[str, dict[Path_, str]]:
    """The text before the first entry, and each command's entry: a term line
    `` `recorder NAME ...` `` and what is indented under it (``:   ...``).
    ``recorder db a|b`` documents ``db a`` and ``db b`` (and the ``db`` group)."""
    lines = text.splitlines()
    intro: list[str] = []
    entries: dict[Path_, str] = {}
    i = 0
    while i < len(lines):
        term = re.fullmatch(r"`recorder ([^`]*)`", lines[i])
        if term is None:
            if not entries:
                intro.append(lines[i])
            i += 1
            continue
        block = [lines[i]]
        i += 1
        while i < len(lines) and (not lines[i] or lines[i][0] in ": "):
            block.append(lines[i])
            i += 1
        words = list(itertools.takewhile(re.compile(r"[a-z][a-z|-]*").fullmatch, term[1].split()))
        assert words, "an entry without a command name: %s" % lines[i]
        for combination in itertools.product(*(word.split("|") for word in words)):
            for depth in range(1, len(combination) + 1):
                entries.setdefault(combination[:depth], "")
            entries[combination] += "\n".join(block) + "\n"
    return "\n".join(intro), entries


def _mentions(text: str, option: str) -> bool:
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(option), text) is not None


def test_every_command_and_option_is_in_docs_cli_md() -> None:
    intro, entries = _entries(DOC.read_text("utf-8"))
    tree = commands(main)
    shared = _long_options(main) | {"--help"}
    missing = [name for name in shared if not _mentions(intro, name)]
    for path, command in tree.items():
        if not path:
            continue
        entry = entries.get(path)
        if entry is None:
            missing.append("recorder %s" % " ".join(path))
            continue
        missing.extend(
            "recorder %s %s" % (" ".join(path), option)
            for option in sorted(_long_options(command) - shared)
            if not _mentions(entry, option)
        )
    assert not missing, "not in docs/cli.md: %s" % ", ".join(missing)


def test_docs_cli_md_documents_no_command_that_does_not_exist() -> None:
    _, entries = _entries(DOC.read_text("utf-8"))
    tree = commands(main)
    assert sorted(set(entries) - set(tree)) == []
