"""The records made per state change keep what a frozen dataclass gives, though their
``__init__`` is written by hand (for speed): set once, equal by their fields, replaceable."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from recorder.persistence.ops import AppendTransition, SaveAtom, UpdateAtom
from recorder.storage import Transition
from recorder.storage_writes import as_utc

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)

RECORDS: list[tuple[type[Any], dict[str, Any]]] = [
    (
        Transition,
        dict(
            kind="task",
            name="t",
            atom_uuid="u",
            old_state="PENDING",
            new_state="RUNNING",
            timestamp=AT.timestamp(),
            attempt=1,
            details={},
        ),
    ),
    (UpdateAtom, dict(uuid="u", at=AT, changes={"state": "RUNNING"}, meta_patch={"k": 1})),
    (
        SaveAtom,
        dict(
            uuid="u",
            flow_uuid="f",
            name="t",
            kind="task",
            state="PENDING",
            intention="EXECUTE",
            version="1.0",
            meta={},
            at=AT,
        ),
    ),
    (
        AppendTransition,
        dict(
            flow_uuid="f",
            atom_uuid="u",
            kind="task",
            name="t",
            old_state="PENDING",
            new_state="RUNNING",
            at=AT,
            seq=1,
            attempt=1,
            details={},
            prev_hash="0" * 64,
            hash="1" * 64,
        ),
    ),
]


@pytest.mark.parametrize(("cls", "fields"), RECORDS, ids=[cls.__name__ for cls, _ in RECORDS])
def test_a_record_is_a_frozen_dataclass(cls: type[Any], fields: dict[str, Any]) -> None:
    record = cls(**fields)
    assert [f.name for f in dataclasses.fields(cls)] == list(fields)
    assert {name: getattr(record, name) for name in fields} == fields
    assert record == cls(*fields.values())  # by position, as the engine makes them
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, next(iter(fields)), "other")
    first = next(iter(fields))
    changed = dataclasses.replace(record, **{first: "other"})
    assert getattr(changed, first) == "other" and changed != record
    assert repr(record).startswith(cls.__name__ + "(")


def test_update_atom_meta_patch_defaults_to_none() -> None:
    assert UpdateAtom("u", AT, {}).meta_patch is None


def test_a_transition_makes_its_time_once() -> None:
    transition = Transition("task", "t", "u", None, "RUNNING", AT.timestamp(), 1, {})
    assert transition.at == AT and transition.at is transition.at
    assert transition == Transition("task", "t", "u", None, "RUNNING", AT.timestamp(), 1, {})


def test_a_creation_time_is_stored_as_the_model_made_it() -> None:
    """An aware UTC datetime is kept as it is (no round trip through a float timestamp,
    which can move it by a microsecond); any other is the same instant in UTC."""
    made = datetime(2026, 12, 2, 3, 4, 5, 999_999, tzinfo=timezone.utc)
    assert as_utc(made) is made
    elsewhere = made.astimezone(timezone(timedelta(hours=-5)))
    assert as_utc(elsewhere) == made and as_utc(elsewhere).tzinfo is timezone.utc
