"""Exact comparison of stored values, and one flow that stores a value every way.

``same`` is stricter than ``==``: types must match at every level (``2.0`` is
not ``2``), floats compare by their repr (NaN matches NaN, ``-0.0`` is not
``0.0``), and dicts compare as mappings (PostgreSQL's jsonb does not keep key
order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recorder import engines
from recorder.patterns import linear_flow
from recorder.persistence import connect
from recorder.persistence.models import FlowDetail
from tests.support.sample_tasks import Const


def same(got: Any, want: Any) -> bool:
    """True when ``got`` is ``want`` down to every type and float bit pattern."""
    if type(got) is not type(want):
        return False
    if isinstance(want, float):
        return repr(got) == repr(want)
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    return bool(got == want)


@dataclass
class Stored:
    """What a backend loads back of a value written as a result, store and meta."""

    flow: FlowDetail

    @property
    def result(self) -> Any:
        return self.flow.atoms["make"].results

    @property
    def store(self) -> Any:
        return self.flow.meta["store"]["value"]

    @property
    def flow_meta(self) -> Any:
        return self.flow.meta["value"]

    @property
    def atom_meta(self) -> Any:
        return self.flow.atoms["make"].meta["value"]

    def all(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "store": self.store,
            "flow meta": self.flow_meta,
            "atom meta": self.atom_meta,
        }


def store_everywhere(url: str, value: Any, mode: str = "durable") -> Stored:
    """Run a flow whose task returns ``value``, with ``value`` in the store and in
    flow and atom meta, then load the flow back through a fresh backend."""
    backend = connect(url, mode=mode, flush_interval=0.005)
    try:
        flow = linear_flow.Flow("values").add(Const(value, name="make", provides="made"))
        engine = engines.load(flow, store={"value": value}, backend=backend)
        engine.run()
        engine.storage.update_flow_metadata({"value": value})
        engine.storage.update_atom_metadata("make", {"value": value})
        uuid = engine.storage.flow_uuid
    finally:
        backend.close()
    reader = connect(url)
    try:
        return Stored(reader.load_flow(uuid))
    finally:
        reader.close()
