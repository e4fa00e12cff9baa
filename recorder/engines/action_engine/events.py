"""What an engine tells listeners: the details dict of each kind of event.

Flow events carry TaskFlow's keys (``engine``, ``flow_name``, ``flow_uuid``,
``old_state``); atom events TaskFlow's ``<kind>_name``, ``<kind>_uuid`` and
``old_state`` (plus ``result`` in finishing states). recorder adds
``timestamp`` (unix seconds, taken at the state change), and on atom events
the ``attempt`` and the ``flow_uuid``; extra keys do not disturb listeners
written for TaskFlow's.
"""

from __future__ import annotations

from typing import Any

from recorder import states
from recorder.persistence.models import AtomDetail
from recorder.storage import Transition


def flow_details(
    engine: object, name: str, uuid: str, old: str | None, timestamp: float
) -> dict[str, Any]:
    return {
        "engine": engine,
        "flow_name": name,
        "flow_uuid": uuid,
        "old_state": old,
        "timestamp": timestamp,
    }


# Each atom kind's name and uuid keys, made once (an atom event is made per state change).
_KEYS = {kind: (kind + "_name", kind + "_uuid") for kind in states.ATOM_KINDS}


def atom_details(
    detail: AtomDetail, old: str | None, timestamp: float, attempt: int, flow_uuid: str
) -> dict[str, Any]:
    kind = detail.kind
    name_key, uuid_key = _KEYS.get(kind) or (kind + "_name", kind + "_uuid")
    return {
        name_key: detail.name,
        uuid_key: detail.uuid,
        "old_state": old,
        "timestamp": timestamp,
        "attempt": attempt,
        "flow_uuid": flow_uuid,
    }


RERUN_STATES = frozenset({states.RUNNING, states.REVERTING})


def rerun_transition(
    detail: AtomDetail, state: str, timestamp: float, attempt: int, flow_uuid: str
) -> Transition:
    """The audit row for an atom left RUNNING or REVERTING by a crash that runs
    (or reverts) again.

    RUNNING -> RUNNING is an identity change, so listeners hear nothing (as in
    TaskFlow), but the transitions trail still gets the new start.
    """
    details = atom_details(detail, state, timestamp, attempt, flow_uuid)
    details["resumed"] = True
    return Transition(
        detail.kind,
        detail.name,
        detail.uuid,
        state,
        state,
        timestamp,
        attempt,
        details,
    )
