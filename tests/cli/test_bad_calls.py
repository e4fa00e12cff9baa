"""Bad calls of every command end in one line on stderr and exit 1, never a traceback.

Each case is a real mistake a user can make (an impossible date, an unwritable
output path, a URL that does not parse, a file that is not a database, a
database another process has locked or that is read-only). They run through
click's CliRunner, which is what ``recorder`` runs in-process; an exception
escaping the command (a traceback in a terminal) shows up as
``result.exception``. The lock case runs as real processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder import engines
from recorder.cli import main
from recorder.exceptions import DatabaseUnavailable, RecorderError
from recorder.patterns import linear_flow
from recorder.persistence import connect
from tests.query.runs import record
from tests.support.sample_tasks import Boom, Const

RECORDER = shutil.which("recorder", path=str(Path(sys.executable).parent)) or "recorder"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_one_line(result: Result, starts: str = "recorder: error: ") -> str:
    """Exit 1, no exception escaped, exactly one line on stderr starting with ``starts``."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        "escaped: %r" % result.exception
    )
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(starts), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def place(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file with one failed flow ``f``, and the bad files the cases name."""
    record(sqlite_url, linear_flow.Flow("f").add(Const(1, name="one"), Boom(name="boom")))
    (tmp_path / "garbage.db").write_bytes(b"\x00not a database\xff" * 300)
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "a-dir.db").mkdir()
    (tmp_path / "plain").write_text("a regular file\n")
    return {"db": sqlite_url, "tmp": str(tmp_path)}


# (args with {db} / {tmp} placeholders, text the one line must contain)
BAD_CALLS = [
    (["flows", "--since", "9999-12-31T23:59:59-23:59"], "--since: "),
    (["flows", "--until", "0001-01-01T00:00:00+23:59"], "--until: "),
    (["stats", "--since", "0001-01-01T00:00:00+23:59"], "--since: "),
    (["stats", "--until", "9999-12-31T23:59:59-23:59"], "--until: "),
    (["timeline", "f", "-o", "/proc/nope/x.html"], "/proc/nope/x.html"),
    (["timeline", "f", "--format", "csv", "-o", "{tmp}/plain/x.csv"], "plain/x.csv"),
    (["timeline", "f", "--format", "html", "-o", "/proc/version"], "/proc/version"),
    (["timeline", "f", "--format", "json", "-o", "/dev/full"], "/dev/full"),
    (["demo", "--speed", "1000", "--html", "/proc/nope/x.html"], "/proc/nope/x.html"),
    (["--db", "postgresql://postgres@[::1/x", "flows"], "not a database URL"),
    (["--db", "postgresql://postgres@[::1/x", "db", "current"], "not a database URL"),
    (["--db", "postgresql+nodriver://h/x", "flows"], "nodriver"),
    (["--db", "postgresql+nodriver://h/x", "db", "upgrade"], "nodriver"),
    (["--db", "sqlite+pysqlcipher:///{tmp}/x.db", "db", "upgrade"], "pysqlcipher"),
    (["--db", "{db}?timeout=soon", "flows"], "timeout"),
    (["--db", "mysql://h/x", "stats"], "mysql"),
    (["--db", "sqlite:///{tmp}/garbage.db", "flows"], "not a database"),
    (["--db", "sqlite:///{tmp}/garbage.db", "db", "upgrade"], "not a database"),
    (["--db", "sqlite:///{tmp}/empty.db", "show", "f"], "no recorder schema"),
    (["--db", "sqlite:///{tmp}/a-dir.db", "timeline", "f"], "a-dir.db"),
    (["--db", "sqlite:///{tmp}/a-dir.db", "db", "upgrade"], "a-dir.db"),
    (["--db", "sqlite:///{tmp}/no/such/dir.db", "verify"], "does not exist"),
    (["--db", "sqlite:///{tmp}/no/such/dir.db", "db", "upgrade"], "no/such/dir.db"),
    (["show", "no-such-flow"], "no flow matches"),
    (["timeline", "%"], "no flow matches"),
    (["verify", "nope"], "no flow matches"),
    (["resume", "nope"], "no flow matches"),
    (["resume", "f"], "not loaded from a factory"),
    (["db", "upgrade", "no-such-revision"], "no-such-revision"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_CALLS, ids=[" ".join(a) for a, _ in BAD_CALLS])
def test_a_bad_call_is_one_line_and_exit_1(
    place: dict[str, str], args: list[str], expected: str
) -> None:
    filled = [a.format(**place) for a in args]
    if filled[0] != "--db":
        filled = ["--db", place["db"], *filled]
    line = assert_one_line(invoke(*filled))
    assert expected.format(**place) in line, line


USAGE_ERRORS = [
    ["timeline", "f", "-o", "{tmp}"],
    ["flows", "--limit", "0"],
    ["show", "f", "--source", "bogus"],
    ["db", "downgrade"],
    ["no-such-command"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_a_usage_error_is_clicks_message_and_exit_1(place: dict[str, str], args: list[str]) -> None:
    result = invoke("--db", place["db"], *[a.format(**place) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("Error: ")]


# -- databases recorder cannot switch to WAL: read-only, or locked by another process


READING = [["flows"], ["show", "x"], ["timeline", "x"], ["stats"], ["verify"], ["resume", "x"]]


def _read_only_url(sqlite_url: str) -> str:
    return "sqlite:///file:%s?mode=ro&uri=true" % sqlite_url.removeprefix("sqlite:///")


@pytest.mark.parametrize("args", READING, ids=" ".join)
def test_a_read_only_database_is_one_line(sqlite_url: str, args: list[str]) -> None:
    """A freshly migrated file (not yet in WAL mode) opened read-only."""
    line = assert_one_line(invoke("--db", _read_only_url(sqlite_url), *args))
    assert "read-only" in line and "WAL" in line, line


@pytest.mark.skipif(AS_ROOT, reason="root writes to a chmod 444 file and directory anyway")
def test_a_read_only_file_and_directory_are_one_line(sqlite_url: str, tmp_path: Path) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        line = assert_one_line(invoke("--db", sqlite_url, "flows"))
    finally:
        tmp_path.chmod(0o755)
        path.chmod(0o644)
    assert "WAL" in line, line


def test_engines_load_on_a_read_only_database_raises_a_recorder_error(sqlite_url: str) -> None:
    flow = linear_flow.Flow("f").add(Const(1, name="one"))
    with pytest.raises(DatabaseUnavailable, match="read-only") as caught:
        engines.load(flow, backend=_read_only_url(sqlite_url))
    assert caught.value.__cause__ is not None  # the driver's error, for whoever debugs it
    assert "readonly" in str(caught.value.__cause__)


@pytest.fixture
def write_locked(sqlite_url: str) -> Iterator[str]:
    """``sqlite_url`` while another process holds a write transaction on it."""
    path = sqlite_url.removeprefix("sqlite:///")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "c.execute('CREATE TABLE held (x)')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield sqlite_url
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()  # else the pipe is left to the GC (ResourceWarning)


def test_a_write_locked_database_is_one_line(write_locked: str) -> None:
    """A real ``recorder flows`` while another process is writing the file."""
    env = {k: v for k, v in os.environ.items() if k != "RECORDER_DATABASE_URL"}
    done = subprocess.run(
        [RECORDER, "--db", write_locked, "flows"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("recorder: error: "), lines
    assert "locked" in lines[0], lines


def test_connect_to_a_write_locked_database_raises_a_recorder_error(write_locked: str) -> None:
    with pytest.raises(DatabaseUnavailable, match="locked") as caught:
        connect(write_locked, busy_timeout=0.2)
    assert caught.value.__cause__ is not None


def test_engines_load_on_garbage_chains_the_driver_error(place: dict[str, str]) -> None:
    flow = linear_flow.Flow("f").add(Const(1, name="one"))
    with pytest.raises(RecorderError) as caught:
        engines.load(flow, backend="sqlite:///%s/garbage.db" % place["tmp"])
    assert caught.value.__cause__ is not None


# -- values no recorder wrote: SQLite does not enforce column types, so a hand edit can
# leave text that is not a time or not JSON (PostgreSQL refuses those, but not a meta
# that is a JSON array).

CORRUPTIONS = [
    ("UPDATE transitions SET at = 'not a time' WHERE seq = 2", "time"),
    ("UPDATE flow_details SET created_at = 'garbage'", "time"),
    ("UPDATE atom_details SET failure = '{garbage'", "JSON"),
    ("UPDATE transitions SET details = '{bad'", "JSON"),
    ("UPDATE flow_details SET meta = '[1, 2]'", "meta"),
]


# verify reads the transitions, the flow's state and meta and the atoms' states, not
# creation times or the atoms' stored results and failures.
CORRUPT_READS = [
    pytest.param(command, statement, expected, id="%s: %s" % (" ".join(command), statement))
    for command in (["show", "f"], ["timeline", "f"], ["verify"])
    for statement, expected in CORRUPTIONS
    if not (command == ["verify"] and ("atom_details" in statement or "created_at" in statement))
]


@pytest.mark.parametrize(("command", "statement", "expected"), CORRUPT_READS)
def test_a_value_recorder_cannot_read_is_one_line(
    place: dict[str, str], command: list[str], statement: str, expected: str
) -> None:
    import sqlite3

    with sqlite3.connect(place["db"].removeprefix("sqlite:///")) as raw:
        raw.execute(statement)
    line = assert_one_line(invoke("--db", place["db"], *command))
    assert "cannot read" in line and expected in line, line
