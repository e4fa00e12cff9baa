"""Flow heads anchored outside the database (``recorder verify --save-heads / --heads``).

A forger with write access can rewrite a trail and recompute every hash after
the change; the chain then verifies. A head ``(seq, hash)`` kept where the
forger cannot write catches that: the row at that seq must still carry that
hash. The file is one JSON object::

    {"format": "recorder.heads/1", "saved_at": "2024-11-26T12:00:00.123456+00:00",
     "heads": {"<flow uuid>": {"seq": 34, "hash": "<64 hex digits>"}}}

It is written atomically (a temporary file in the same directory, fsynced, then
renamed over the old one), so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recorder.exceptions import InvalidArgument

HEADS_FORMAT = "recorder.heads/1"

Heads = dict[str, tuple[int, str]]


def load_heads(path: Path) -> Heads:
    """The heads in ``path``; InvalidArgument (one line, naming the file) if it is bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument("heads file %s cannot be read: %s" % (path, exc.strerror)) from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument("heads file %s is not JSON: %s" % (path, exc)) from exc
    if not isinstance(document, dict) or document.get("format") != HEADS_FORMAT:
        raise InvalidArgument(
            "heads file %s is not a %s file (no matching 'format' key)" % (path, HEADS_FORMAT)
        )
    entries = document.get("heads")
    if not isinstance(entries, dict):
        raise InvalidArgument("heads file %s has no 'heads' object" % path)
    return {uuid: _entry(path, uuid, entry) for uuid, entry in entries.items()}


def _entry(path: Path, uuid: str, entry: Any) -> tuple[int, str]:
    seq = entry.get("seq") if isinstance(entry, dict) else None
    digest = entry.get("hash") if isinstance(entry, dict) else None
    if type(seq) is not int or seq < 1 or not isinstance(digest, str) or len(digest) != 64:
        raise InvalidArgument(
            'heads file %s: the head of %r must be {"seq": a positive integer, '
            '"hash": 64 hex digits}' % (path, uuid)
        )
    return seq, digest


def save_heads(path: Path, heads: Mapping[str, tuple[int, str]]) -> None:
    """Write ``heads`` to ``path`` atomically (see the module docstring)."""
    document = {
        "format": HEADS_FORMAT,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "heads": {uuid: {"seq": seq, "hash": digest} for uuid, (seq, digest) in heads.items()},
    }
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % path.name, suffix=".tmp")
    except OSError as exc:
        raise InvalidArgument("heads file %s cannot be written: %s" % (path, exc.strerror)) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidArgument("heads file %s cannot be written: %s" % (path, exc.strerror)) from exc
    _sync_directory(folder)


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
