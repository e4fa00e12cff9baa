"""Names and messages full of terminal escapes are shown escaped, never sent raw.

A flow named ``\\x1b[2J`` must not clear the screen of whoever lists flows, nor
``\\x1b]0;...\\x07`` retitle their terminal, ``\\r`` overwrite a line or U+202E
turn text around. Every text output shows such characters as ``\\x1b``-style
escapes; JSON and CSV keep the exact recorded value.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

import recorder
from recorder import engines, task
from recorder.cli import main
from recorder.patterns import linear_flow
from recorder.persistence import connect
from recorder.persistence.urls import normalize
from tests.cli import resumable
from tests.query.runs import record
from tests.support.sample_tasks import Const

# Everything a terminal may obey: C0 (but the newlines output is made of), DEL, C1,
# line/paragraph separators and the bidi controls. No NUL: PostgreSQL text cannot hold it.
EVIL = "\x1b[2J\x1b]0;owned\x07\rX\x08\x7f\x9b31m\u202egnp.exe\u2066\u2028\x85end\t|"
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
FLOW = "flow" + EVIL
ATOM = "atom" + EVIL


class Evil(task.Task):
    def execute(self) -> None:
        raise RuntimeError("bad" + EVIL)


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def assert_safe(result: Result, code: int = 0) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    for stream in (result.stdout, result.stderr):
        raw = sorted(set(UNSAFE.findall(stream)))
        assert not raw, "raw control characters %r in %r" % (raw, stream)
    return result.stdout + result.stderr


def evil_flow(url: str, uuid: str | None = None) -> str:
    flow = linear_flow.Flow(FLOW).add(Const(1, name=ATOM), Evil(name="evil"))
    return record(url, flow, uuid=uuid)


def test_every_text_output_escapes_what_json_and_csv_keep(db_url: str, tmp_path: Path) -> None:
    uuid = evil_flow(db_url)
    shown = assert_safe(cli(db_url, "flows"))
    assert "flow\\x1b[2J" in shown  # visible, not dropped
    for args in (["show", uuid], ["timeline", uuid], ["stats"]):
        out = assert_safe(cli(db_url, *args))
        assert "\\x1b[2J" in out, args  # names are cut to their column, escapes and all
    failure = assert_safe(cli(db_url, "show", uuid))
    assert "bad\\x1b[2J\\x1b]0;owned\\x07 X\\x08\\x7f\\x9b31m\\u202egnp" in " ".join(
        failure.split()
    )

    table = tmp_path / "timeline.txt"
    assert_safe(cli(db_url, "timeline", uuid, "-o", str(table)))
    assert not UNSAFE.search(table.read_text("utf-8"))

    # JSON escapes them its own way (\u001b): exact once parsed, harmless on a terminal.
    flows = json.loads(assert_safe(cli(db_url, "flows", "--json")))
    assert [f["name"] for f in flows["flows"]] == [FLOW]
    timeline = json.loads(assert_safe(cli(db_url, "timeline", uuid, "--format", "json")))
    assert timeline["flow"]["name"] == FLOW
    assert ATOM in [a["name"] for a in timeline["atoms"]]
    evil = next(a for a in timeline["atoms"] if a["name"] == "evil")
    assert evil["attempts"][0]["failure"]["message"] == "bad" + EVIL
    assert json.loads(assert_safe(cli(db_url, "show", uuid, "--json")))["flow"]["name"] == FLOW
    stats = json.loads(assert_safe(cli(db_url, "stats", "--json")))
    assert ATOM in [s["name"] for s in stats["stats"]]
    rows = list(
        csv.DictReader(
            io.StringIO(cli(db_url, "timeline", uuid, "--format", "csv").stdout, newline="")
        )
    )
    assert {r["flow_name"] for r in rows} == {FLOW} and ATOM in {r["atom"] for r in rows}


def test_error_messages_escape_the_names_they_quote(db_url: str) -> None:
    evil_flow(db_url, uuid="feed0001-0000-4000-8000-000000000000")
    evil_flow(db_url, uuid="feed0002-0000-4000-8000-000000000000")
    ambiguous = assert_safe(cli(db_url, "show", "feed"), code=1)
    assert "matches 2 flows" in ambiguous and "\\x1b[2J" in ambiguous
    assert len(ambiguous.strip().splitlines()) == 1
    assert_safe(cli(db_url, "timeline", "no" + EVIL), code=1)
    assert_safe(cli(db_url, "resume", FLOW), code=1)  # not loaded from a factory


def test_verify_escapes_the_flows_it_reports(db_url: str) -> None:
    uuid = evil_flow(db_url)
    assert_safe(cli(db_url, "verify"))
    engine = create_engine(normalize(db_url))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(
                text("UPDATE transitions SET name = 'forged' WHERE flow_uuid = :f AND seq = 2"),
                {"f": uuid},
            )
    finally:
        engine.dispose()
    out = assert_safe(cli(db_url, "verify"), code=2)
    assert "FAILED %s flow\\x1b[2J" % uuid in out


def test_resume_messages_escape_the_flow_name(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = tmp_path / "fixed"
    monkeypatch.setenv("RESUME_FIX", str(fix))
    with connect(db_url) as backend:
        engine = engines.load_from_factory(
            resumable.named, [FLOW], store={"order": "o-1"}, backend=backend
        )
        with recorder.record(engine), pytest.raises(ConnectionError):
            engine.run()
        uuid = engine.storage.flow_uuid
    still_down = assert_safe(cli(db_url, "resume", uuid), code=1)
    assert "flow flow\\x1b[2J" in still_down
    fix.touch()
    resumed = assert_safe(cli(db_url, "resume", uuid))
    assert "resuming flow\\x1b[2J" in resumed and "is SUCCESS" in resumed


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name, é ü 東京 🚀", "plain name, é ü 東京 🚀"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("t\x1b]0;title\x07", "t\\x1b]0;title\\x07"),
        ("x\ry\tz\nw", "x\\ry\\tz\\nw"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
        ("abc\u202efed\u2066\u2069\u200f\u2028", "abc\\u202efed\\u2066\\u2069\\u200f\\u2028"),
    ],
)
def test_visible_escapes_controls_and_nothing_else(raw: str, shown: str) -> None:
    from recorder.render.visible import visible

    assert visible(raw) == shown
    assert visible(shown) == shown  # escaping twice changes nothing
    assert visible("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"
