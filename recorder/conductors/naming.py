"""Unique owner names for workers: what a claim records as its owner.

Two workers must never share an owner name, or one could renew, consume or
fence with the other's claim. ``name@host:pid:random`` is unique across
machines (host), processes (pid) and pid reuse after a restart (random part),
and still tells a person which machine and process held a job.
"""

from __future__ import annotations

import os
import secrets
import socket

MAX_OWNER_LEN = 255


def unique_owner(name: str) -> str:
    """``name@host:pid:xxxxxx`` (6 random hex digits), at most 255 characters."""
    suffix = "@%s:%d:%s" % (socket.gethostname(), os.getpid(), secrets.token_hex(3))
    return name[: MAX_OWNER_LEN - len(suffix)] + suffix
