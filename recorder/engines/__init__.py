"""Load flows into engines (and run them): ``engines.load(flow, store=...)``.

With no ``backend`` the engine keeps state in memory only. With a database URL,
an SQLAlchemy engine or a backend object, every state change is also written
to the database together with its hash-chained ``transitions`` row (the audit
trail, :class:`~recorder.audit.trail.TransitionRecorder`), and a stored flow can
be continued with ``flow_detail=``. ``trail=False`` opts a flow out of the trail:
the choice is kept in the flow's meta (``transitions_trail: false``), so a
resumed run of it stays without one unless given ``trail=True``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recorder.atom import Atom
from recorder.engines.action_engine.engine import (
    ActionEngine,
    ParallelActionEngine,
    SerialActionEngine,
)
from recorder.engines.compiler import compile_flow
from recorder.exceptions import InvalidArgument, NotFound
from recorder.flow import Flow
from recorder.persistence.base import Backend
from recorder.persistence.models import FlowDetail, LogBook
from recorder.persistence.rows import TRAIL_META_KEY
from recorder.retry import Retry
from recorder.storage import Storage

__all__ = [
    "ActionEngine",
    "ParallelActionEngine",
    "SerialActionEngine",
    "flow_from_detail",
    "load",
    "load_from_detail",
    "load_from_factory",
    "run",
]

ENGINES: dict[str, type[ActionEngine]] = {
    "serial": SerialActionEngine,
    "default": SerialActionEngine,
    "parallel": ParallelActionEngine,
}

FACTORY_META_KEY = "factory"


def _open_backend(backend: Any, mode: str | None) -> tuple[Backend | None, bool]:
    """Return (backend, whether the engine owns it and must close it)."""
    if backend is None:
        return None, False
    if isinstance(backend, Backend):
        return backend, False
    if isinstance(backend, Mapping):  # TaskFlow's {"connection": url}
        from recorder.persistence import backends

        return backends.fetch(backend, mode=mode), True
    from recorder.persistence import connect  # the SQL layer loads only when asked for

    return connect(backend, mode=mode or "durable"), True


class InvalidFlow(InvalidArgument, TypeError):
    """``engines.load`` was given something that is neither a flow nor an atom."""


class UnknownEngine(InvalidArgument, NotFound):
    """No engine of that name (TaskFlow raises NotFound)."""


class FactoryImportError(InvalidArgument, ImportError):
    """A recorded flow factory cannot be imported (TaskFlow raises ImportError)."""


def load(
    flow: Flow | Atom,
    store: Mapping[str, Any] | None = None,
    *,
    engine: str = "serial",
    executor: Any = None,
    max_workers: int | None = None,
    backend: Any = None,
    mode: str | None = None,
    book: LogBook | None = None,
    flow_detail: FlowDetail | str | None = None,
    trail: bool | None = None,
    **options: Any,
) -> ActionEngine:
    """Compile ``flow`` (a flow, or a single task) and return an engine ready to ``run()`` it.

    Requirements are checked by ``validate()`` (which ``run()`` calls), so
    values injected into ``engine.storage`` after loading count.
    ``engine``: 'serial' (default) or 'parallel'; ``executor`` (parallel only):
    a ``concurrent.futures.Executor`` or 'threads' (TaskFlow's strings 'thread',
    'threaded' too). ``backend``: None (memory),
    a database URL, an SQLAlchemy Engine or a backend; ``mode``: 'durable'
    (default) or 'batched' when recorder opens the database itself.
    ``flow_detail``: a stored flow (or its uuid) to continue instead of a new run.
    ``trail``: with a backend, every state change also writes its hash-chained
    ``transitions`` row (a TransitionRecorder is attached to the storage) unless
    this is False. None (default): on, except for a stored flow first loaded
    with ``trail=False``. A flow that has a trail cannot be continued without one.
    """
    if not isinstance(flow, (Flow, Atom)):
        raise InvalidFlow("engines.load needs a flow or an atom, got %r" % (flow,))
    if isinstance(flow, Retry):
        raise InvalidFlow(
            "engines.load got retry %r alone: a retry controls a flow; pass it as "
            "Flow(name, retry=...)" % flow.name
        )
    if not isinstance(engine, str) or engine not in ENGINES:
        raise UnknownEngine(
            "unknown engine %r; use one of: %s" % (engine, ", ".join(sorted(ENGINES)))
        )
    engine_cls = ENGINES[engine]
    if trail and backend is None:
        raise InvalidArgument("trail=True needs a backend to write the transitions to")
    compilation = compile_flow(flow)
    opened, owned = _open_backend(backend, mode)
    try:
        if isinstance(flow_detail, str):
            if opened is None:
                raise InvalidArgument("flow_detail given as a uuid needs a backend to load it from")
            flow_detail = opened.load_flow(flow_detail)
        if flow_detail is None:
            flow_detail = FlowDetail(name=flow.name, state="PENDING")
        trailed = opened is not None and _wants_trail(flow_detail, trail)
        storage = Storage(flow_detail, opened, logbook=book, scope_fetcher=compilation.scope_of)
        with storage.deferred_writes():  # one write (one commit) for the whole set-up
            for atom in compilation.atoms:
                storage.ensure_atom(atom)
            storage.inject(dict(store or {}))
        if executor is not None:
            options["executor"] = executor
        if max_workers is not None:
            options["max_workers"] = max_workers
        result = engine_cls(compilation, storage, options, owns_backend=owned)
        if trailed:
            from recorder.audit.trail import TransitionRecorder

            TransitionRecorder(result).register()
    except BaseException:
        if owned and opened is not None:
            opened.close()
        raise
    return result


def _wants_trail(flow_detail: FlowDetail, trail: bool | None) -> bool:
    """Whether the engine writes a trail; an opt-out is kept in the flow's meta
    (stored with the flow's row, in the set-up write)."""
    marked = flow_detail.meta.get(TRAIL_META_KEY)
    if trail is None:
        return marked is not False
    if trail:
        return True
    if marked is True:
        raise InvalidArgument(
            "flow %r (%s) has a transitions trail: continuing it with trail=False would "
            "leave the trail behind its state" % (flow_detail.name, flow_detail.uuid)
        )
    flow_detail.meta[TRAIL_META_KEY] = False
    return False


def run(flow: Flow | Atom, store: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Load ``flow``, run it, and return every symbol it produced (``fetch_all()``)."""
    engine = load(flow, store=store, **kwargs)
    try:
        engine.run()
        return engine.storage.fetch_all()
    finally:
        engine.close()


def _factory_name(factory: Callable[..., Flow]) -> str:
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise InvalidArgument(
            "Flow factory %r is not reimportable: it must be an importable "
            "module-level function" % (factory,)
        )
    if module == "__main__":
        # Run as `python -m pkg.mod`: another process imports it as pkg.mod. Run as
        # a script: nothing else can import it, so the run could never be resumed.
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        if spec is None or not spec.name:
            raise InvalidArgument(
                "flow factory %s is defined in a script (__main__), which a resuming "
                "process cannot import: move it into a module" % qualname
            )
        module = spec.name
    # TaskFlow's form (reflection.get_callable_name): a TaskFlow process can import it too.
    return "%s.%s" % (module, qualname)


def _import_dotted(name: str) -> Any:
    """TaskFlow's 'module.function' form: the longest importable module prefix."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            target = getattr(target, part)
        return target
    raise FactoryImportError("Could not import factory %r: no module in it can be imported" % name)


def _import_factory(name: str) -> Callable[..., Flow]:
    """Import TaskFlow's 'module.qualname' (what is recorded) or 'module:qualname'
    (what recorder 0.1 recorded; also the CLI's unambiguous form)."""
    module_name, colon, attr_path = name.partition(":")
    try:
        if colon:
            target: Any = importlib.import_module(module_name)
            for part in attr_path.split("."):
                target = getattr(target, part)
        else:
            target = _import_dotted(name)
    except FactoryImportError:
        raise
    except (ImportError, AttributeError, ValueError) as exc:
        raise FactoryImportError(
            "Could not import factory %r (cannot import flow factory): %s" % (name, exc)
        ) from exc
    if not callable(target):
        raise InvalidArgument("flow factory %r is not callable" % name)
    return target  # type: ignore[no-any-return]


def load_from_factory(
    flow_factory: Callable[..., Flow] | str,
    factory_args: Sequence[Any] | None = None,
    factory_kwargs: Mapping[str, Any] | None = None,
    store: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> ActionEngine:
    """Build the flow by calling an importable factory, and remember the factory in
    the flow's meta (key 'factory'), so the run can be resumed from storage alone."""
    if isinstance(flow_factory, str):  # a name, recorded as given
        name, flow_factory = flow_factory, _import_factory(flow_factory)
    else:
        name = _factory_name(flow_factory)
    args = list(factory_args or ())
    fkwargs = dict(factory_kwargs or {})
    flow = flow_factory(*args, **fkwargs)
    if "flow_detail" in kwargs:
        raise InvalidArgument(
            "load_from_factory starts a new run; continue a stored one with load_from_detail"
        )
    # The factory is in the new flow's meta from the start, so it is stored with the
    # flow's own row, in the one commit that sets the flow up.
    detail = FlowDetail(name=flow.name, state="PENDING")
    detail.meta[FACTORY_META_KEY] = {"name": name, "args": args, "kwargs": fkwargs}
    return load(flow, store=store, flow_detail=detail, **kwargs)


def flow_from_detail(flow_detail: FlowDetail) -> Flow:
    """Rebuild a flow from the factory recorded in a stored flow detail.

    Recorded args that are not a list (kwargs not a mapping), or a factory that
    raises when called with them, are an InvalidArgument naming the factory
    (its exception chained), so ``recorder resume`` can say why in one line.
    """
    factory = flow_detail.meta.get(FACTORY_META_KEY)
    if not isinstance(factory, Mapping) or "name" not in factory:
        raise InvalidArgument(
            "Cannot rebuild flow %r (%s): it was not loaded from a factory (pass the flow "
            "to engines.load), no factory information saved." % (flow_detail.name, flow_detail.uuid)
        )
    name = str(factory["name"])
    args, kwargs = factory.get("args", ()), factory.get("kwargs", {})
    if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
        raise InvalidArgument("flow factory %r: recorded args are not a list: %r" % (name, args))
    if not isinstance(kwargs, Mapping):
        raise InvalidArgument(
            "flow factory %r: recorded kwargs are not a mapping: %r" % (name, kwargs)
        )
    build = _import_factory(name)
    try:
        return build(*args, **kwargs)
    except Exception as exc:  # the factory's own code, or args it no longer takes
        raise InvalidArgument(
            "flow factory %r cannot rebuild flow %r: %s: %s"
            % (name, flow_detail.name, type(exc).__name__, exc)
        ) from exc


def load_from_detail(
    flow_detail: FlowDetail, store: Mapping[str, Any] | None = None, **kwargs: Any
) -> ActionEngine:
    """Continue a stored flow run: rebuild its flow from the recorded factory."""
    return load(flow_from_detail(flow_detail), store=store, flow_detail=flow_detail, **kwargs)
