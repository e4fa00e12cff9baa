"""``recorder verify --save-heads FILE`` / ``--heads FILE``: heads anchored outside the
database catch a forger who rewrites a trail and recomputes every hash after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from recorder.audit import row_hash
from recorder.cli import main
from tests.cli.forging import sql
from tests.query.runs import record_demo


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", url, *args])


def rehash_from(url: str, uuid: str, seq: int, name: str) -> None:
    """Rename row ``seq`` and recompute every hash from there on: a chain that verifies."""
    with sql(url) as conn:
        conn.execute(
            text("UPDATE transitions SET name = :n WHERE flow_uuid = :f AND seq = :s"),
            {"n": name, "f": uuid, "s": seq},
        )
        rows = conn.execute(
            text("SELECT * FROM transitions WHERE flow_uuid = :f ORDER BY seq"), {"f": uuid}
        ).mappings()
        prev = None
        for row in [dict(r) for r in rows]:
            if prev is not None:
                row["prev_hash"] = prev
            digest = row_hash(row) if row["seq"] >= seq else row["hash"]
            conn.execute(
                text("UPDATE transitions SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": row["prev_hash"], "h": digest, "i": row["id"]},
            )
            prev = digest


def saved(url: str, path: Path, *flow: str) -> dict[str, object]:
    result = cli(url, "verify", *flow, "--save-heads", str(path))
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(path.read_text())
    return document


def test_saved_heads_name_every_flow_with_a_trail(db_url: str, tmp_path: Path) -> None:
    uuids = [record_demo(db_url), record_demo(db_url, fails=False)]
    document = saved(db_url, tmp_path / "heads.json")
    assert document["format"] == "recorder.heads/1"
    heads = document["heads"]
    assert isinstance(heads, dict) and sorted(heads) == sorted(uuids)
    for uuid in uuids:
        entry = heads[uuid]
        assert set(entry) == {"seq", "hash"} and entry["seq"] > 10 and len(entry["hash"]) == 64
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: nothing left behind
    result = cli(db_url, "verify", "--heads", str(tmp_path / "heads.json"))
    assert result.exit_code == 0, result.output
    assert "2 anchored head(s) matched" in result.stdout


def test_a_recomputed_chain_fails_against_anchored_heads(db_url: str, tmp_path: Path) -> None:
    good, forged = record_demo(db_url), record_demo(db_url)
    heads = tmp_path / "heads.json"
    saved(db_url, heads)
    rehash_from(db_url, forged, 5, "forged")
    assert cli(db_url, "verify").exit_code == 0  # the chain alone cannot tell
    result = cli(db_url, "verify", "--heads", str(heads))
    assert result.exit_code == 2, result.output
    assert result.stdout.splitlines() == [
        "FAILED %s order-fulfilment: row %d: hash differs from the anchored head"
        % (forged, json.loads(heads.read_text())["heads"][forged]["seq"])
    ]
    assert cli(db_url, "verify", good, "--heads", str(heads)).exit_code == 0


def test_a_flow_that_grew_past_its_anchor_is_fine_unless_rewritten_below_it(
    db_url: str, tmp_path: Path
) -> None:
    uuid = record_demo(db_url)
    with sql(db_url) as conn:  # anchor an earlier point of the trail, as a run in progress
        row = conn.execute(
            text("SELECT seq, hash FROM transitions WHERE flow_uuid = :f AND seq = 10"),
            {"f": uuid},
        ).one()
    heads = tmp_path / "heads.json"
    heads.write_text(
        json.dumps({"format": "recorder.heads/1", "heads": {uuid: {"seq": 10, "hash": row.hash}}})
    )
    assert cli(db_url, "verify", "--heads", str(heads)).exit_code == 0
    rehash_from(db_url, uuid, 4, "forged")
    result = cli(db_url, "verify", "--heads", str(heads))
    assert result.exit_code == 2
    assert "row 10: hash differs from the anchored head" in result.stdout


def test_rows_cut_below_the_anchor_or_a_vanished_flow_fail(db_url: str, tmp_path: Path) -> None:
    cut, gone = record_demo(db_url), record_demo(db_url)
    heads = tmp_path / "heads.json"
    anchored = saved(db_url, heads)["heads"]
    assert isinstance(anchored, dict)
    with sql(db_url) as conn:
        conn.execute(
            text("DELETE FROM transitions WHERE flow_uuid = :f AND seq > 20"), {"f": cut}
        )  # and papered over: states as if a crash had stopped the flow at row 20
        conn.execute(text("DELETE FROM transitions WHERE flow_uuid = :f"), {"f": gone})
        conn.execute(text("DELETE FROM atom_details WHERE flow_uuid = :f"), {"f": gone})
        conn.execute(text("DELETE FROM flow_details WHERE uuid = :f"), {"f": gone})
    result = cli(db_url, "verify", "--heads", str(heads))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert (
        "FAILED %s order-fulfilment: rows 21..%d are missing (the chain ends at 20)"
        % (cut, anchored[cut]["seq"])
        in lines
    )
    assert (
        "FAILED %s -: anchored at row %d in the heads file, but the flow is not in the database"
        % (gone, anchored[gone]["seq"])
        in lines
    )


def test_heads_are_not_saved_when_a_flow_fails(db_url: str, tmp_path: Path) -> None:
    uuid = record_demo(db_url)
    with sql(db_url) as conn:
        conn.execute(text("DELETE FROM transitions WHERE flow_uuid = :f AND seq = 3"), {"f": uuid})
    heads = tmp_path / "heads.json"
    result = cli(db_url, "verify", "--save-heads", str(heads))
    assert result.exit_code == 2
    assert "heads not saved" in result.stderr
    assert not heads.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other/1", "heads": {}}', "is not a recorder.heads/1 file"),
        ('{"format": "recorder.heads/1", "heads": {"x": {"seq": "7", "hash": "h"}}}', "'x'"),
    ],
)
def test_a_bad_heads_file_is_one_line(
    sqlite_url: str, tmp_path: Path, content: str, reason: str
) -> None:
    heads = tmp_path / "heads.json"
    heads.write_text(content)
    result = cli(sqlite_url, "verify", "--heads", str(heads))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("recorder: error: heads file %s" % heads)
    assert reason in result.stderr and result.stderr.count("\n") == 1
    missing = cli(sqlite_url, "verify", "--heads", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "recorder: error: heads file" in missing.stderr
