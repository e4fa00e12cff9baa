"""The click command tree, walked once for the CLI tests that check every command."""

from __future__ import annotations

import click

Path_ = tuple[str, ...]


def commands(command: click.Command, path: Path_ = ()) -> dict[Path_, click.Command]:
    """Every command under ``command`` (itself included), keyed by its path of names."""
    found = {path: command}
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found.update(commands(sub, (*path, name)))
    return found
