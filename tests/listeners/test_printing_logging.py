"""Printing and logging listeners: TaskFlow's texts, levels and tracebacks."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from recorder import engines, retry, task
from recorder.engines import ActionEngine
from recorder.failure import Failure
from recorder.listeners import logging as logging_listeners
from recorder.listeners import printing
from recorder.patterns import linear_flow
from tests.support.sample_tasks import Boom, Const

UUID = r"[0-9a-f-]{36}"
ENGINE = r"<recorder\.engines\.action_engine\.engine\.SerialActionEngine object at 0x[0-9a-f]+>"
LOGGER = "recorder.listeners.logging"


class CatTalk(task.Task):
    def execute(self, meow: str) -> str:
        print(meow)
        return "cat"


class DogTalk(task.Task):
    def execute(self, woof: str) -> str:
        print(woof)
        return "dog"


class BadRevert(task.Task):
    def execute(self) -> str:
        return "done"

    def revert(self, **kwargs: Any) -> None:
        raise ValueError("cannot undo")


def cat_dog() -> ActionEngine:
    flow = linear_flow.Flow("cat-dog").add(CatTalk("CatTalk"), DogTalk("DogTalk", provides="dog"))
    return engines.load(flow, store={"meow": "meow", "woof": "woof"})


def failing(*tasks: task.Task) -> ActionEngine:
    return engines.load(linear_flow.Flow("failing").add(*tasks))


# -- PrintingListener ----------------------------------------------------------


def test_printing_listener_prints_the_seed_lines_exactly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = cat_dog()
    with printing.PrintingListener(engine):
        engine.run()
    lines = capsys.readouterr().out.splitlines()
    expected = [
        rf"{ENGINE} has moved flow 'cat-dog' \({UUID}\) into state 'RUNNING' from state 'PENDING'",
        rf"{ENGINE} has moved task 'CatTalk' \({UUID}\) into state 'RUNNING' from state 'PENDING'",
        "meow",
        rf"{ENGINE} has moved task 'CatTalk' \({UUID}\) into state 'SUCCESS' from state 'RUNNING'"
        r" with result 'cat' \(failure=False\)",
        rf"{ENGINE} has moved task 'DogTalk' \({UUID}\) into state 'RUNNING' from state 'PENDING'",
        "woof",
        rf"{ENGINE} has moved task 'DogTalk' \({UUID}\) into state 'SUCCESS' from state 'RUNNING'"
        r" with result 'dog' \(failure=False\)",
        rf"{ENGINE} has moved flow 'cat-dog' \({UUID}\) into state 'SUCCESS' from state 'RUNNING'",
    ]
    assert len(lines) == len(expected)
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    flow_uuid = engine.storage.flow_uuid
    assert "(%s)" % flow_uuid in lines[0]
    assert repr(engine) in lines[0]


def test_printing_listener_stderr_and_failure_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = failing(Boom("boom"))
    with printing.PrintingListener(engine, stderr=True), pytest.raises(RuntimeError):
        engine.run()
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert re.search(
        r"has moved task 'boom' \(%s\) into state 'FAILURE' from state 'RUNNING' with result "
        r"'Failure: RuntimeError: boom' \(failure=True\)\nTraceback \(most recent call last\):"
        % UUID,
        err,
    )
    assert "RuntimeError: boom\n" in err
    assert "into state 'REVERTED' from state 'REVERTING' with result 'None' (failure=False)" in err


def test_printing_listener_reports_retry_atoms(capsys: pytest.CaptureFixture[str]) -> None:
    flow = linear_flow.Flow("f", retry=retry.Times(2, "again")).add(Const(1, name="one"))
    engine = engines.load(flow)
    with printing.PrintingListener(engine):
        engine.run()
    out = capsys.readouterr().out
    assert re.search(r"has moved retry 'again' \(%s\) into state 'RUNNING'" % UUID, out)
    assert (
        "retry 'again'" in out
        and "into state 'SUCCESS' from state 'RUNNING' with result '1'" in out
    )


def test_printing_listener_follows_a_swapped_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    engine = cat_dog()
    listener = printing.PrintingListener(engine, task_listen_for=(), flow_listen_for=["SUCCESS"])
    capsys.readouterr()
    with listener:
        engine.run()
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith("into state 'SUCCESS' from state 'RUNNING'")


# -- LoggingListener -----------------------------------------------------------


def test_logging_listener_logs_every_event_at_debug_on_its_module_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = cat_dog()
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with logging_listeners.LoggingListener(engine):
        engine.run()
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 6
    assert {r.levelno for r in records} == {logging.DEBUG}
    assert (
        records[2]
        .getMessage()
        .endswith("into state 'SUCCESS' from state 'RUNNING' with result 'cat' (failure=False)")
    )
    assert records[0].getMessage().startswith(repr(engine) + " has moved flow 'cat-dog'")


def test_logging_listener_custom_logger_level_and_failure_exc_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = failing(Boom("boom"))
    log = logging.getLogger("tests.custom")
    caplog.set_level(logging.INFO, logger="tests.custom")
    listener = logging_listeners.LoggingListener(engine, log=log, level=logging.INFO)
    with listener, pytest.raises(RuntimeError):
        engine.run()
    records = [r for r in caplog.records if r.name == "tests.custom"]
    assert records and {r.levelno for r in records} == {logging.INFO}
    failed = [r for r in records if "into state 'FAILURE'" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].exc_info is not None and failed[0].exc_info[0] is RuntimeError
    assert "(failure=True)" in failed[0].getMessage()


def test_logging_listener_class_logger_override(caplog: pytest.LogCaptureFixture) -> None:
    class Mine(logging_listeners.LoggingListener):
        _LOGGER = logging.getLogger("tests.mine")

    engine = cat_dog()
    caplog.set_level(logging.DEBUG, logger="tests.mine")
    with Mine(engine):
        engine.run()
    assert len([r for r in caplog.records if r.name == "tests.mine"]) == 6


# -- DynamicLoggingListener ----------------------------------------------------


def levels(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_dynamic_logging_success_path_is_debug_with_results(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = cat_dog()
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with logging_listeners.DynamicLoggingListener(engine):
        engine.run()
    seen = levels(caplog)
    assert {level for level, _ in seen} == {logging.DEBUG}
    assert re.fullmatch(
        r"Flow 'cat-dog' \(%s\) transitioned into state 'RUNNING' from state 'PENDING'" % UUID,
        seen[0][1],
    )
    assert re.fullmatch(
        r"Task 'CatTalk' \(%s\) transitioned into state 'SUCCESS' from state 'RUNNING'"
        r" with result 'cat'" % UUID,
        seen[2][1],
    )


def test_dynamic_logging_failure_levels_formatter_text_and_exc_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = failing(Const(1, name="first", provides="x"), Boom("boom"))
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with logging_listeners.DynamicLoggingListener(engine), pytest.raises(RuntimeError):
        engine.run()
    records = [r for r in caplog.records if r.name == LOGGER]
    by_text = {(r.getMessage().split(" (")[0], r.getMessage().split("'")[3]): r for r in records}
    failure = by_text[("Task 'boom'", "FAILURE")]
    assert failure.levelno == logging.WARNING
    assert failure.exc_info is not None and failure.exc_info[0] is RuntimeError
    text = failure.getMessage()
    assert "1 predecessors (most recent first):" in text
    assert (
        "Atom 'first' {'intention': 'EXECUTE', 'state': 'SUCCESS', 'requires': {}, 'provides': 1}"
        in text
    )
    assert by_text[("Task 'boom'", "REVERTING")].levelno == logging.DEBUG
    reverted = by_text[("Task 'boom'", "REVERTED")]
    assert reverted.levelno == logging.WARNING
    assert reverted.getMessage().endswith(" with result 'None'")
    assert by_text[("Task 'first'", "SUCCESS")].levelno == logging.DEBUG
    assert by_text[("Flow 'failing'", "REVERTED")].levelno == logging.WARNING
    assert by_text[("Flow 'failing'", "RUNNING")].levelno == logging.DEBUG


def test_dynamic_logging_revert_failure_and_flow_failure(caplog: pytest.LogCaptureFixture) -> None:
    engine = failing(BadRevert("bad"), Boom("boom"))
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    listener = logging_listeners.DynamicLoggingListener(engine, failure_level=logging.ERROR)
    with listener, pytest.raises(ValueError):
        engine.run()
    records = [r for r in caplog.records if r.name == LOGGER]
    revert_failure = [r for r in records if "into state 'REVERT_FAILURE'" in r.getMessage()]
    assert len(revert_failure) == 1 and revert_failure[0].levelno == logging.ERROR
    assert revert_failure[0].exc_info is not None and revert_failure[0].exc_info[0] is ValueError
    flow_failure = [
        r
        for r in records
        if r.getMessage().startswith("Flow") and "into state 'FAILURE'" in r.getMessage()
    ]
    assert len(flow_failure) == 1 and flow_failure[0].levelno == logging.ERROR


def test_dynamic_logging_retry_atoms_retrying_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flow = linear_flow.Flow("f", retry=retry.Times(2, "again")).add(Boom("boom"))
    engine = engines.load(flow)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with logging_listeners.DynamicLoggingListener(engine), pytest.raises(RuntimeError):
        engine.run()
    retrying = [
        (lvl, m)
        for lvl, m in levels(caplog)
        if m.startswith("Retry 'again'") and "into state 'RETRYING'" in m
    ]
    assert len(retrying) == 1 and retrying[0][0] == logging.WARNING
    assert any(m.startswith("Retry 'again'") and "with result '1'" in m for _, m in levels(caplog))


def test_dynamic_logging_hides_results_of_hidden_tasks_and_when_level_is_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = cat_dog()
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with logging_listeners.DynamicLoggingListener(engine, hide_inputs_outputs_of=["CatTalk"]):
        engine.run()
    messages = [m for _, m in levels(caplog)]
    assert any(
        "'CatTalk'" in m and "into state 'SUCCESS'" in m and "with result" not in m
        for m in messages
    )
    assert any("'DogTalk'" in m and "with result 'dog'" in m for m in messages)

    caplog.clear()
    engine = failing(Const(1, name="first"), Boom("boom"))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with logging_listeners.DynamicLoggingListener(engine), pytest.raises(RuntimeError):
        engine.run()
    reverted = [
        m for _, m in levels(caplog) if "into state 'REVERTED'" in m and m.startswith("Task")
    ]
    assert reverted and all("with result" not in m for m in reverted)


def test_dynamic_logging_uses_a_given_fail_formatter(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[Failure, bool]] = []

    class Formatter:
        def format(self, fail: Failure, atom_matcher: Any) -> tuple[Any, str]:
            calls.append((fail, True))
            return fail.exc_info, "custom details"

    engine = failing(Boom("boom"))
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    listener = logging_listeners.DynamicLoggingListener(engine, fail_formatter=Formatter())
    with listener, pytest.raises(RuntimeError):
        engine.run()
    assert len(calls) == 1 and calls[0][0].check(RuntimeError)
    assert any(
        m.endswith("'FAILURE' from state 'RUNNING'\ncustom details") for _, m in levels(caplog)
    )
