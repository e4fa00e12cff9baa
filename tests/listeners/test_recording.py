"""TransitionRecorder and the audit chain, over MemoryBackend (serial and parallel engines)."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest

import recorder
from recorder import engines, retry, states, task
from recorder.audit import GENESIS_HASH, row_hash, verify_chain, verify_flow
from recorder.engines import ActionEngine
from recorder.exceptions import InvalidArgument, WrappedFailure
from recorder.listeners.capturing import CaptureListener
from recorder.listeners.recording import MAX_SUMMARY, TransitionRecorder, recorder_for
from recorder.patterns import linear_flow, unordered_flow
from recorder.persistence.memory import MemoryBackend
from recorder.persistence.ops import AppendTransition
from recorder.persistence.rows import TransitionRow
from recorder.storage import Transition, to_datetime
from tests.support.sample_tasks import Boom, Const, FailsTimes, Sleepy


def retried_flow() -> linear_flow.Flow:
    """A retried subflow: outer[ inner(retry=Times(5,'r1'))[ ok, flaky ] ], flaky failing twice."""
    inner = linear_flow.Flow("inner", retry=retry.Times(5, "r1")).add(
        Const("ok", name="ok"), FailsTimes(2, name="flaky")
    )
    return linear_flow.Flow("outer").add(inner)


def rows_of(backend: MemoryBackend, engine: ActionEngine) -> list[TransitionRow]:
    return [r for r in backend.transitions if r.flow_uuid == engine.storage.flow_uuid]


def test_serial_rows_match_the_events_one_for_one() -> None:
    backend = MemoryBackend()
    engine = engines.load(retried_flow(), backend=backend, trail=False)
    with TransitionRecorder(engine) as rec, CaptureListener(engine) as capture:
        engine.run()
    rows = rows_of(backend, engine)
    assert len(rows) == 34 == len(capture.values)
    assert [r.seq for r in rows] == list(range(1, 35))
    for row, (kind, state, details) in zip(rows, capture.values, strict=True):
        name = details.get("flow_name") or details.get("task_name") or details.get("retry_name")
        assert (row.kind, row.name, row.new_state, row.old_state) == (
            kind,
            name,
            state,
            details["old_state"],
        )
        assert row.at == to_datetime(details["timestamp"])
        assert row.at.tzinfo is not None
        assert row.attempt == details.get("attempt", 0)
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(r.atom_uuid is None for r in rows if r.kind == "flow")
    assert {r.atom_uuid for r in rows if r.name == "flaky"} == {
        engine.storage.get_atom_uuid("flaky")
    }
    flaky_runs = [r.attempt for r in rows if r.name == "flaky" and r.new_state == states.RUNNING]
    assert flaky_runs == [1, 2, 3]
    r1_runs = [r.attempt for r in rows if r.name == "r1" and r.new_state == states.RUNNING]
    assert r1_runs == [1, 2, 3]
    assert verify_flow(backend, engine.storage.flow_uuid).ok
    assert rec.head == backend.last_transition(engine.storage.flow_uuid) == (34, rows[-1].hash)


def test_row_details_summarise_results_and_failures() -> None:
    backend = MemoryBackend()
    flow = linear_flow.Flow("f").add(
        Const(list(range(10_000)), name="big"), Const("caf\u00e9", name="text"), Boom("boom")
    )
    engine = engines.load(flow, backend=backend, trail=False)
    with TransitionRecorder(engine), pytest.raises(RuntimeError):
        engine.run()
    by_key = {(r.name, r.new_state): r.details for r in rows_of(backend, engine)}
    big = by_key[("big", states.SUCCESS)]["result"]
    assert big["type"] == "list" and big["repr"].startswith("[0, 1, 2") and len(big["repr"]) <= 200
    assert by_key[("text", states.SUCCESS)] == {"result": {"type": "str", "repr": "'caf\u00e9'"}}
    assert by_key[("boom", states.FAILURE)] == {
        "failure": {"type": "RuntimeError", "message": "boom"}
    }
    assert by_key[("boom", states.REVERTED)] == {"result": {"type": "NoneType", "repr": "None"}}
    assert by_key[("boom", states.RUNNING)] == {}
    assert by_key[("f", states.REVERTED)] == {}


def test_failure_messages_are_cut_and_made_storable() -> None:
    class Ugly(task.Task):
        def execute(self) -> None:
            raise ValueError("nul\x00" + "x" * 500 + "\ud800")

    backend = MemoryBackend()
    engine = engines.load(linear_flow.Flow("f").add(Ugly("ugly")), backend=backend, trail=False)
    with TransitionRecorder(engine), pytest.raises(ValueError):
        engine.run()
    (details,) = [r.details for r in rows_of(backend, engine) if r.new_state == states.FAILURE]
    message = details["failure"]["message"]
    assert len(message) == MAX_SUMMARY and message.endswith("...")
    assert message.startswith("nul\\x00xxx") and "\x00" not in message
    assert verify_flow(backend, engine.storage.flow_uuid).ok


def test_parallel_engine_rows_are_gap_free_and_chain() -> None:
    backend = MemoryBackend()
    flow = unordered_flow.Flow("u").add(
        *(Sleepy(0.01 * (i % 3), name="s%d" % i) for i in range(12)),
        linear_flow.Flow("inner", retry=retry.Times(3, "r")).add(FailsTimes(2, name="flaky")),
    )
    engine = engines.load(flow, backend=backend, trail=False, engine="parallel", max_workers=4)
    with TransitionRecorder(engine):
        engine.run()
    rows = rows_of(backend, engine)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    # flow 2; tasks 12 * 2; r 3 runs * 2 + 2 RETRYING; flaky 2 failed runs * 5 + 2
    assert len(rows) == 2 + 24 + 8 + 12
    assert verify_chain(rows).ok
    for i in range(12):
        mine = [r for r in rows if r.name == "s%d" % i]
        assert [r.new_state for r in mine] == [states.RUNNING, states.SUCCESS]
        assert mine[0].at <= mine[1].at and {r.attempt for r in mine} == {1}
    flaky = [(r.new_state, r.attempt) for r in rows if r.name == "flaky"]
    assert [a for s, a in flaky if s == states.RUNNING] == [1, 2, 3]
    assert flaky[-1] == (states.SUCCESS, 3)


def test_parallel_failure_rows_verify() -> None:
    backend = MemoryBackend()
    flow = unordered_flow.Flow("u").add(Boom("b1"), Boom("b2"), Const(1, name="c"))
    engine = engines.load(flow, backend=backend, trail=False, engine="parallel")
    with TransitionRecorder(engine), pytest.raises(WrappedFailure):
        engine.run()
    rows = rows_of(backend, engine)
    assert verify_chain(rows).ok
    assert rows[-1].kind == "flow" and rows[-1].new_state == states.REVERTED


# -- tampering -----------------------------------------------------------------


@pytest.fixture
def chain() -> list[TransitionRow]:
    backend = MemoryBackend()
    engine = engines.load(retried_flow(), backend=backend, trail=False)
    with TransitionRecorder(engine):
        engine.run()
    rows = rows_of(backend, engine)
    assert verify_chain(rows).ok
    return rows


def test_altered_rows_are_found_at_their_seq(chain: list[TransitionRow]) -> None:
    tampering: list[tuple[str, Any]] = [
        ("new_state", states.FAILURE),
        ("name", "other"),
        ("attempt", 9),
        ("at", chain[9].at.replace(microsecond=(chain[9].at.microsecond + 1) % 1_000_000)),
        ("details", {"result": {"type": "str", "repr": "'forged'"}}),
        ("old_state", None),
    ]
    for field, value in tampering:
        rows = list(chain)
        rows[9] = dataclasses.replace(rows[9], **{field: value})
        result = verify_chain(rows)
        assert (result.ok, result.first_bad_seq) == (False, 10), field
        assert "altered" in result.reason
        assert result.checked == 9


def test_deleted_rows_are_found_at_their_seq(chain: list[TransitionRow]) -> None:
    rows = chain[:4] + chain[5:]
    result = verify_chain(rows)
    assert (result.ok, result.first_bad_seq) == (False, 5) and "missing" in result.reason
    # Renumbering what follows does not hide it: the chain breaks at the same seq.
    renumbered = chain[:4] + [dataclasses.replace(r, seq=r.seq - 1) for r in chain[5:]]
    assert verify_chain(renumbered).first_bad_seq == 5
    # The first row too.
    assert verify_chain(chain[1:]).first_bad_seq == 1


def test_inserted_rows_are_found_at_their_seq(chain: list[TransitionRow]) -> None:
    forged = dataclasses.replace(chain[5], name="forged", prev_hash=chain[5].hash, seq=7)
    # Inserted as seq 7 without renumbering: a duplicate seq.
    result = verify_chain([*chain[:6], forged, *chain[6:]])
    assert (result.ok, result.first_bad_seq) == (False, 7)
    # Inserted with the rest renumbered: its hash does not match its contents.
    shifted = [dataclasses.replace(r, seq=r.seq + 1) for r in chain[6:]]
    assert verify_chain([*chain[:6], forged, *shifted]).first_bad_seq == 7
    # Even with a correctly recomputed hash, the next original row no longer links.
    rehashed = dataclasses.replace(forged, hash=row_hash(forged))
    assert verify_chain([*chain[:6], rehashed, *shifted]).first_bad_seq == 8


def test_reordered_rows_are_found_at_their_seq(chain: list[TransitionRow]) -> None:
    rows = list(chain)
    rows[11], rows[12] = rows[12], rows[11]
    result = verify_chain(rows)
    assert (result.ok, result.first_bad_seq) == (False, 12)
    # Swapping their seq numbers too breaks the hashes at the same place.
    rows[11] = dataclasses.replace(rows[11], seq=12)
    rows[12] = dataclasses.replace(rows[12], seq=13)
    assert verify_chain(rows).first_bad_seq == 12


def test_truncation_needs_an_expected_head(chain: list[TransitionRow]) -> None:
    head = (chain[-1].seq, chain[-1].hash)
    assert verify_chain(chain, expected_head=head).ok
    assert verify_chain(chain[:-2]).ok  # a chain alone cannot see a cut-off end
    result = verify_chain(chain[:-2], expected_head=head)
    assert (result.ok, result.first_bad_seq) == (False, len(chain) - 1)
    assert not verify_chain(chain, expected_head=(head[0], "f" * 64)).ok
    assert verify_chain(chain[:10], expected_head=(5, chain[4].hash)).ok  # grew since


def test_a_rewritten_chain_that_grew_past_its_anchor_fails(chain: list[TransitionRow]) -> None:
    """A forger rewrites row 3 and recomputes every later hash: the row at the anchor differs."""
    anchor = (chain[9].seq, chain[9].hash)
    forged: list[TransitionRow] = list(chain[:2])
    for row in chain[2:]:
        fields = dataclasses.asdict(row)
        fields["prev_hash"] = forged[-1].hash
        if row.seq == 3:
            fields["name"] = "forged"
        fields["hash"] = row_hash(fields)
        forged.append(TransitionRow(**fields))
    assert verify_chain(forged).ok  # the chain alone cannot tell
    result = verify_chain(forged, expected_head=anchor)
    assert (result.ok, result.first_bad_seq) == (False, 10)
    assert result.reason == "row 10: hash differs from the anchored head"
    assert verify_chain(chain, expected_head=anchor).ok


def test_rows_of_another_flow_and_empty_input(chain: list[TransitionRow]) -> None:
    rows = list(chain)
    rows[3] = dataclasses.replace(rows[3], flow_uuid="someone-else")
    assert verify_chain(rows).first_bad_seq == 4
    empty = verify_chain([])
    assert empty.ok and empty.checked == 0


def test_verify_flow_sees_tampering_in_the_backend() -> None:
    backend = MemoryBackend()
    engine = engines.load(retried_flow(), backend=backend, trail=False)
    other = engines.load(
        linear_flow.Flow("other").add(Const(1, name="c")), backend=backend, trail=False
    )
    with TransitionRecorder(engine), TransitionRecorder(other):
        engine.run()
        other.run()
    uuid = engine.storage.flow_uuid
    assert verify_flow(backend, uuid).checked == 34
    assert verify_flow(backend, other.storage.flow_uuid).checked == 4
    index = backend.transitions.index(rows_of(backend, engine)[20])
    backend.transitions[index] = dataclasses.replace(backend.transitions[index], attempt=7)
    result = verify_flow(backend, uuid)
    assert (result.ok, result.first_bad_seq) == (False, 21)
    assert verify_flow(backend, other.storage.flow_uuid).ok


def test_rows_given_as_mappings_verify(chain: list[TransitionRow]) -> None:
    as_dicts = [dataclasses.asdict(r) for r in chain]
    for row in as_dicts:
        row["at"] = row["at"].isoformat()  # e.g. text read back from a database
    assert verify_chain(as_dicts).ok


# -- lifecycle -----------------------------------------------------------------


def test_a_resumed_flow_continues_the_chain() -> None:
    backend = MemoryBackend()
    flow = linear_flow.Flow("f").add(Const(1, name="a"), FailsTimes(1, name="flaky"))
    engine = engines.load(flow, backend=backend)  # the default trail, no recorder call
    with pytest.raises(RuntimeError):
        engine.run()
    first = len(rows_of(backend, engine))
    # A new engine on the stored flow (as after a restart) has a new default recorder.
    again = engines.load(flow, backend=backend, flow_detail=engine.storage.flow_uuid)
    rec = recorder_for(again.storage)
    assert rec is not None and rec.head == backend.last_transition(engine.storage.flow_uuid)
    again.run()
    rows = rows_of(backend, engine)
    assert len(rows) > first and rows[first].seq == first + 1
    assert rows[first].prev_hash == rows[first - 1].hash
    assert verify_flow(backend, engine.storage.flow_uuid).ok
    flaky_runs = [r.attempt for r in rows if r.name == "flaky" and r.new_state == states.RUNNING]
    assert flaky_runs == [1, 2]


def test_one_recorder_per_flow_and_a_backend_is_required() -> None:
    backend = MemoryBackend()
    engine = engines.load(
        linear_flow.Flow("f").add(Const(1, name="a")), backend=backend, trail=False
    )
    first = TransitionRecorder(engine)
    first.register()
    first.register()  # idempotent
    with pytest.raises(InvalidArgument, match="already has a TransitionRecorder"):
        TransitionRecorder(engine).register()
    first.deregister()
    with TransitionRecorder(engine) as second:
        assert second.registered
    assert not second.registered
    with pytest.raises(InvalidArgument, match="needs an engine with a backend"):
        TransitionRecorder(engines.load(linear_flow.Flow("g").add(Const(1)))).register()


def test_a_deregistered_recorder_writes_nothing() -> None:
    backend = MemoryBackend()
    engine = engines.load(
        linear_flow.Flow("f").add(Const(1, name="a")), backend=backend, trail=False
    )
    with TransitionRecorder(engine):
        pass
    engine.run()
    assert rows_of(backend, engine) == []


def test_a_raising_listener_loses_no_row_and_is_counted() -> None:
    backend = MemoryBackend()
    engine = engines.load(retried_flow(), backend=backend, trail=False)

    def broken(state: str, details: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    engine.atom_notifier.register("*", broken)
    engine.notifier.register("*", broken)
    with TransitionRecorder(engine):
        engine.run()
    assert len(rows_of(backend, engine)) == 34
    assert engine.atom_notifier.failure_count == 32 and engine.notifier.failure_count == 2
    assert verify_flow(backend, engine.storage.flow_uuid).ok


def test_the_hook_numbers_rows_without_gaps_from_many_threads() -> None:
    backend = MemoryBackend()
    engine = engines.load(
        linear_flow.Flow("f").add(Const(1, name="a")), backend=backend, trail=False
    )
    rec = TransitionRecorder(engine)
    rec.register()
    made: list[AppendTransition] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            transition = Transition("task", "a", None, "PENDING", "RUNNING", time.time(), 1, {})
            op = rec._hook(engine.storage, transition)[0]  # the first also marks the flow
            assert isinstance(op, AppendTransition)
            with lock:
                made.append(op)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made.sort(key=lambda op: op.seq)
    assert [op.seq for op in made] == list(range(1, 1601))
    assert verify_chain(made).ok
    rec.deregister()


# -- recorder.record -----------------------------------------------------------


def test_record_attaches_the_standard_set() -> None:
    backend = MemoryBackend()
    engine = engines.load(retried_flow(), backend=backend)
    default = recorder_for(engine.storage)
    with recorder.record(engine) as rec:
        assert rec.transitions is not None and rec.transitions is default
        engine.run()
    assert len(engine.notifier) == 0 and len(engine.atom_notifier) == 0
    # Deregistering the recording leaves the engine's default trail attached.
    assert default.registered and recorder_for(engine.storage) is default
    assert engine.storage.wants_transitions
    assert verify_flow(backend, engine.storage.flow_uuid).checked == 34
    meta = backend.load_flow(engine.storage.flow_uuid).atoms["flaky"].meta
    flaky = [r for r in rows_of(backend, engine) if r.name == "flaky"]
    runs = [r.at for r in flaky if r.new_state == "RUNNING"]
    assert len(runs) == 3
    # TaskFlow's keys hold the latest values, the same engine timestamps as the rows...
    assert to_datetime(meta["RUNNING-timestamp"]) == runs[-1]
    success = next(r.at for r in flaky if r.new_state == "SUCCESS")
    assert meta["duration"] == pytest.approx((success - runs[-1]).total_seconds(), abs=2e-6)
    # ...and the history is in the rows only: every attempt's start is there.
    assert [r.attempt for r in flaky if r.new_state == "RUNNING"] == [1, 2, 3]
    assert "durations" not in meta and "RUNNING-timestamps" not in meta


def test_record_without_a_backend_keeps_meta_only() -> None:
    engine = engines.load(linear_flow.Flow("f").add(Const(1, name="a")))
    with recorder.record(engine) as rec:
        engine.run()
    assert rec.transitions is None
    assert "duration" in engine.storage.get_atom_meta("a")
    assert "SUCCESS-timestamp" in engine.storage.flow_meta


def test_record_rolls_back_when_a_part_cannot_attach() -> None:
    backend = MemoryBackend()
    engine = engines.load(linear_flow.Flow("f").add(Const(1, name="a")), backend=backend)
    default = recorder_for(engine.storage)
    assert default is not None
    default.deregister()
    recording = recorder.record(engine)  # no recorder is attached: it brings its own
    assert recording.transitions is not None and recording.transitions is not default
    with TransitionRecorder(engine):
        with pytest.raises(InvalidArgument):
            recording.register()
        assert len(engine.notifier) == 0 and len(engine.atom_notifier) == 0
