"""Helpers for engine tests: capture every event an engine announces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from recorder.engines import ActionEngine
from recorder.notifier import ANY

Event = tuple[str, str]


def _capture(engine: ActionEngine, full: bool = False) -> list[Any]:
    seen: list[Any] = []

    def on_flow(state: str, details: dict[str, Any]) -> None:
        seen.append(("flow", state, details) if full else ("flow", state))

    def on_atom(state: str, details: dict[str, Any]) -> None:
        name = details.get("task_name") or details.get("retry_name")
        seen.append((name, state, details) if full else (name, state))

    engine.notifier.register(ANY, on_flow)
    engine.atom_notifier.register(ANY, on_atom)
    return seen


@pytest.fixture
def capture() -> Callable[..., list[Any]]:
    """``capture(engine)`` -> a list that fills with (name, state) per event."""
    return _capture
