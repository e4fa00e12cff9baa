"""The ``recorder`` commands that read what was recorded, and the demo.

Each command is thin: parse options, call :mod:`recorder.query`, render with
:mod:`recorder.render`. :func:`register` mounts them on the root group of
:mod:`recorder.cli` (or on any click group).

Exit codes: 0 ok; 1 user error (unknown or ambiguous flow, bad option, no or
outdated schema, unreachable database), one line on stderr; 2 integrity
failure (``recorder verify`` found a broken hash chain).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from recorder.commands.demo import demo
from recorder.commands.inspect import flows, show, stats, timeline
from recorder.commands.resume import resume
from recorder.commands.verify import verify

COMMANDS = (flows, show, timeline, stats, verify, resume, demo)


def register(
    group: click.Group, options: Sequence[Callable[[click.Command], click.Command]] = ()
) -> None:
    """Add every command of this package to ``group``, each with ``options`` added
    (e.g. the root's ``--db`` option, so ``recorder flows --db URL`` works too)."""
    for command in COMMANDS:
        for option in options:
            option(command)
        group.add_command(command)
