"""Migration 0005 on an existing SQLite file: JSON columns become TEXT, what the
file read back before still reads back the same, and new values stay exact."""

from __future__ import annotations

import math

from sqlalchemy import create_engine, text

from recorder.persistence import connect, migrate, urls
from recorder.persistence.ops import UpdateAtom
from tests.persistence.helpers import Flow, later
from tests.support.values import same

# What each value read back as from a 0004 file (NUMERIC affinity changed the numbers).
WRITTEN_AND_READ_AT_0004 = {
    "float": (2.0, 2),
    "int64_plus_one": (2**63, 9.223372036854776e18),
    "big": (10**30, 1e30),
    "too_big_for_real": (10**400, math.inf),
    "nested": ({"x": 2.0, "y": [2**64]}, {"x": 2.0, "y": [2**64]}),
    "text": ("3.0e+5", "3.0e+5"),
}


def _json_storage_classes(url: str) -> set[str]:
    engine = create_engine(urls.normalize(url))
    try:
        with engine.connect() as conn:
            query = (
                "SELECT typeof(results) FROM atom_details UNION SELECT typeof(meta) FROM "
                "atom_details UNION SELECT typeof(details) FROM transitions UNION "
                "SELECT typeof(meta) FROM flow_details UNION SELECT typeof(meta) FROM logbooks"
            )
            return {str(row[0]) for row in conn.execute(text(query))}
    finally:
        engine.dispose()


def test_0005_retypes_old_sqlite_files_without_losing_more(sqlite_empty_url: str) -> None:
    url = sqlite_empty_url
    migrate.upgrade(url, "0004")
    old = connect(url, check_schema=False)
    flow = Flow(old, atoms=tuple(WRITTEN_AND_READ_AT_0004))
    old.write(
        [
            UpdateAtom(flow.atoms[name], later(), {"results": written}, {"m": written})
            for name, (written, _) in WRITTEN_AND_READ_AT_0004.items()
        ]
        + [
            flow.transition(None, "PENDING", "RUNNING", 1),
            flow.transition("float", None, "RUNNING", 2),
        ]
    )
    before = {name: atom.results for name, atom in old.load_flow(flow.uuid).atoms.items()}
    old.close()
    for name, (_, read) in WRITTEN_AND_READ_AT_0004.items():
        assert same(before[name], read), name  # the loss this migration stops
    assert "integer" in _json_storage_classes(url) and "real" in _json_storage_classes(url)

    assert migrate.upgrade(url) == ("0004", migrate.head_revision())
    assert _json_storage_classes(url) <= {"text", "null"}
    assert migrate.check(url) == []
    backend = connect(url)
    loaded = backend.load_flow(flow.uuid)
    for name, atom in loaded.atoms.items():
        assert same(atom.results, before[name]), name
        assert same(atom.meta["m"], WRITTEN_AND_READ_AT_0004[name][0]), name
    for name, (written, _) in WRITTEN_AND_READ_AT_0004.items():
        backend.write([UpdateAtom(flow.atoms[name], later(), {"results": written})])
    for name, atom in backend.load_flow(flow.uuid).atoms.items():
        assert same(atom.results, WRITTEN_AND_READ_AT_0004[name][0]), name
    with backend.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM atom_attempts")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM flow_runs")).scalar_one() == 1
    assert len(backend.load_transitions(flow.uuid)) == 2
    backend.close()

    assert migrate.downgrade(url, "0004") == (migrate.head_revision(), "0004")
    assert migrate.upgrade(url) == ("0004", migrate.head_revision())
    assert migrate.check(url) == []
