"""Rewrite expected_failures.txt from a fresh run of the compatibility suite.

    .venv/bin/python tests/taskflow_compat/refresh.py          # only removes entries
    .venv/bin/python tests/taskflow_compat/refresh.py --add    # also adds new failures

Without ``--add`` the list can only shrink: entries whose test now passes, or
that name no test any more, are removed. ``--add`` appends every failing test
that is not listed yet, with the last line of its error as the reason (edit it
into a cause shared by its group). Extra arguments go to pytest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tfcompat_harness as harness  # noqa: E402


def _reason(message: str) -> str:
    text = message.strip()
    if text.startswith("E "):
        text = text[2:].strip()
    text = text.removeprefix("ImportError: ")
    text = re.sub(r" \(/[^)]*\)", "", text)  # drop file paths: the file stays portable
    text = re.sub(r" at 0x[0-9a-f]+|[0-9a-f]{8}-[0-9a-f-]{27}", "", text)  # run-specific
    text = re.sub(r"^E?\s*", "", text)
    missing = re.match(
        r"AttributeError: (?:module|type object|<class) '?([\w.]+)'?>? "
        r"(?:has no|does not have the) attribute '(\w+)'",
        text,
    )
    if missing:
        owner, name = missing.groups()
        kind = "pokes a private name" if name.startswith("_") else "missing"
        return f"{kind}: {owner}.{name}"
    return text[:100] or "fails"


def main(argv: list[str]) -> int:
    add = "--add" in argv
    args = [a for a in argv if a != "--add"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        env = dict(os.environ, TFCOMPAT_RESULTS=str(out))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE), *args]
        subprocess.run(cmd, env=env, cwd=HERE.parent.parent, check=False)
        if not out.exists():
            print("no results written: did the run collect the suite?", file=sys.stderr)
            return 1
        data = json.loads(out.read_text())
    outcomes: dict[str, str] = data["outcomes"]
    messages: dict[str, str] = data["messages"]
    expected = harness.load_expected()
    kept = {
        sid: e.reason
        for sid, e in expected.items()
        if outcomes.get(sid) in ("xfailed", "failed")
        or (not e.strict and outcomes.get(sid) == "xpassed")
    }
    removed = sorted(set(expected) - set(kept))
    added = []
    if add:
        for sid, outcome in sorted(outcomes.items()):
            if outcome == "failed" and sid not in kept:
                kept[sid] = _reason(messages.get(sid, ""))
                added.append(sid)
    lines = [
        "# TaskFlow unit tests that fail on recorder today: 'test id  # reason'.",
        "# Run as strict xfail; regenerate with tests/taskflow_compat/refresh.py",
        "# (see docs/taskflow-compat.md).",
        "# A reason starting with 'timing-sensitive' makes a non-strict xfail.",
    ]
    previous = None
    for sid, reason in sorted(kept.items(), key=lambda kv: (kv[1], kv[0])):
        if reason != previous:
            lines += ["", f"## {reason}"]
            previous = reason
        lines.append(f"{sid}  # {reason}")
    harness.EXPECTED.write_text("\n".join(lines) + "\n")
    print(f"expected failures: {len(kept)} ({len(removed)} removed, {len(added)} added)")
    for sid in removed:
        print("  removed", sid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
