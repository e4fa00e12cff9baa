"""FailureFormatter: predecessors of a failed atom, hidden and masked values."""

from __future__ import annotations

from typing import Any

import pytest

from recorder import engines, task
from recorder.failure import Failure
from recorder.formatters import AtomNode, FailureFormatter
from recorder.patterns import graph_flow, linear_flow
from tests.support.sample_tasks import Const


class Use(task.Task):
    def execute(self, a: Any) -> Any:
        return {"used": a, "token": "t0k3n"}


class Broken(task.Task):
    def execute(self, a: Any, b: Any) -> None:
        raise RuntimeError("broken")


def is_broken(node: AtomNode) -> bool:
    return node.item.name == "Broken"


def diamond() -> graph_flow.Flow:
    # A -> B (needs a), and Broken needs a and b: A is reached twice.
    return graph_flow.Flow("g").add(
        Const({"secret": "s3", "v": 1}, name="A", provides="a"),
        Use("B", provides="b"),
        Broken("Broken"),
    )


def formatted_at_failure(flow: Any, **kwargs: Any) -> tuple[Any, str]:
    """Format Broken's failure while it is being announced (intention EXECUTE)."""
    engine = engines.load(flow)
    out: list[tuple[Any, str]] = []

    def on_failure(state: str, details: dict[str, Any]) -> None:
        out.append(FailureFormatter(engine, **kwargs).format(details["result"], is_broken))

    engine.atom_notifier.register("FAILURE", on_failure)
    with pytest.raises(RuntimeError):
        engine.run()
    assert len(out) == 1
    return out[0]


def test_predecessor_tree_most_recent_first_each_atom_expanded_once() -> None:
    exc_info, text = formatted_at_failure(diamond())
    assert exc_info is not None and exc_info[0] is RuntimeError
    lines = text.splitlines()
    assert lines[0] == "3 predecessors (most recent first):"
    b_line = (
        "  Atom 'B' {'intention': 'EXECUTE', 'state': 'SUCCESS', "
        "'requires': {'a': {'secret': 's3', 'v': 1}}, "
        "'provides': {'used': {'secret': 's3', 'v': 1}, 'token': 't0k3n'}}"
    )
    a_label = (
        "Atom 'A' {'intention': 'EXECUTE', 'state': 'SUCCESS', 'requires': {}, "
        "'provides': {'secret': 's3', 'v': 1}}"
    )
    assert lines[1:] == [b_line, "  |__" + a_label, "  " + a_label]


def test_mask_inputs_and_outputs_keys_at_any_depth() -> None:
    _, text = formatted_at_failure(
        diamond(), mask_inputs_keys=["secret"], mask_outputs_keys=["secret", "token"]
    )
    assert "s3" not in text and "t0k3n" not in text
    assert "'requires': {'a': {'secret': '***', 'v': 1}}" in text
    assert "'provides': {'used': {'secret': '***', 'v': 1}, 'token': '***'}" in text


def test_hidden_atoms_show_no_inputs_or_outputs() -> None:
    _, text = formatted_at_failure(diamond(), hide_inputs_outputs_of=["A", "B"])
    assert "requires" not in text and "provides" not in text and "s3" not in text
    assert "  Atom 'B' {'intention': 'EXECUTE', 'state': 'SUCCESS'}" in text.splitlines()


def test_deep_linear_chain_is_indented_as_a_tree() -> None:
    flow = linear_flow.Flow("l").add(
        Const(1, name="one", provides="a"), Const(2, name="two", provides="b"), Broken("Broken")
    )
    _, text = formatted_at_failure(flow, hide_inputs_outputs_of=["one", "two"])
    assert text.splitlines() == [
        "2 predecessors (most recent first):",
        "  Atom 'two' {'intention': 'EXECUTE', 'state': 'SUCCESS'}",
        "  |__Atom 'one' {'intention': 'EXECUTE', 'state': 'SUCCESS'}",
    ]


def test_no_details_once_the_atom_is_being_reverted() -> None:
    engine = engines.load(diamond())
    with pytest.raises(RuntimeError):
        engine.run()
    fail = engine.storage.get_failures()["Broken"]
    exc_info, text = FailureFormatter(engine).format(fail, is_broken)
    assert len(exc_info or ()) == 3
    assert text == ""


def test_a_failure_without_exc_info_shows_its_stored_traceback() -> None:
    engine = engines.load(diamond())
    with pytest.raises(RuntimeError):
        engine.run()
    stored = Failure.from_dict(engine.storage.get_failures()["Broken"].to_dict())
    exc_info, text = FailureFormatter(engine).format(stored, is_broken)
    assert exc_info is None
    assert text.startswith("Failure: RuntimeError: broken\nTraceback (most recent call last):")


def test_unmatched_atom_gives_no_tree() -> None:
    engine = engines.load(diamond())
    with pytest.raises(RuntimeError):
        engine.run()
    fail = engine.storage.get_failures()["Broken"]
    assert FailureFormatter(engine).format(fail, lambda node: False) == (fail.exc_info, "")


def test_mask_keys_edge_cases() -> None:
    f = FailureFormatter(engines.load(diamond()))
    keys = ("certificate",)
    assert f._mask_keys({}, keys) == {}
    assert f._mask_keys([], keys) == []
    assert f._mask_keys({"a": 1, "b": "hello"}, keys) == {"a": 1, "b": "hello"}
    assert f._mask_keys({"certificate": None}, keys) == {"certificate": "***"}
    assert f._mask_keys([{"certificate": "x"}, {"a": "b"}], keys) == [
        {"certificate": "***"},
        {"a": "b"},
    ]
    nested: dict[str, Any] = {
        "l": [{"tls": {"id": "1", "certificate": "secret"}}],
        "t": ({"certificate": 1},),
    }
    masked = f._mask_keys(nested, keys)
    assert masked == {
        "l": [{"tls": {"id": "1", "certificate": "***"}}],
        "t": ({"certificate": "***"},),
    }
    assert nested["l"][0]["tls"]["certificate"] == "secret"  # the input is not changed
    for plain in ("some string", 12345, None, False, 0):
        assert f._mask_keys(plain, keys) == plain
