"""Ops to SQL: one statement touching one row per op, written once per shape and dialect.

:func:`Statements.prepare` runs in the caller's thread when ops are written: it
checks and encodes the op into driver-ready parameters right away (JSON text,
UTC times), so a bad op fails the ``write()`` that carried it (even in batched
mode) and later changes to the caller's objects cannot leak into what is
stored. Each prepared op has a *shape* key; ops committed together are planned
(:meth:`~recorder.persistence.execution.Executor.plan`: updates of one row
folded, same shapes grouped) and each run of one shape is one ``executemany``.
The SQL is plain text run on a driver cursor: the write path is hot (a
durable write is a whole transaction), and compiling Core constructs per call
would cost more than the database does.

* Save* ops: ``INSERT ... ON CONFLICT DO NOTHING`` (re-saving is a no-op).
* AppendTransition: ``INSERT ... ON CONFLICT (flow_uuid, seq) DO NOTHING``, so a
  batch retried after an unknown commit outcome cannot duplicate rows; when a
  row was skipped, the stored one must be the same (its hash), or the write
  fails (:func:`~recorder.persistence.ops.trail_conflict`): a different row
  there means another engine wrote the trail, and the chain would fork.
* DeleteRow: ``DELETE ... WHERE uuid = ...`` (logbooks, flow and atom details
  only; in a batch after everything else, children first).
* UpdateFlow / UpdateAtom: ``UPDATE ... SET <named columns>, updated_at`` with
  the meta patch merged in SQL, with ``dict.update`` semantics on the top-level
  keys (nested values replaced, ``None`` stored as JSON null):
  PostgreSQL ``meta || CAST(:patch AS jsonb)``; SQLite ``json_set(meta, '$."k"',
  json(:v), ...)``. SQLite's JSON paths cannot name a key containing ``"``;
  a patch with such a key is merged by reading the row's meta and writing it
  back inside the same write transaction (``BEGIN IMMEDIATE`` holds the write
  lock, so nothing can slip in between). Updating an atom or flow that was
  never saved changes no row and is not an error (as in TaskFlow).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple

from recorder.exceptions import InvalidArgument
from recorder.persistence import encoding, sql_text
from recorder.persistence.coltypes import format_sqlite_time, require_aware
from recorder.persistence.ops import (
    ATOM_FIELDS,
    DELETABLE,
    AppendTransition,
    DeleteRow,
    Op,
    SaveAtom,
    SaveFlow,
    SaveLogbook,
    UpdateAtom,
    UpdateFlow,
)
from recorder.persistence.param_text import details_text, json_text, meta_text, opt_str, patch_texts
from recorder.persistence.sql_text import JSON_FIELDS
from recorder.persistence.utc_text import sqlite_utc_text


class Prepared(NamedTuple):
    """One op ready to run: its statement shape and its driver-ready parameters."""

    key: Hashable
    params: dict[str, Any]


class PreparedUpdate(NamedTuple):
    """An update ready to fold: the row it changes and what it changes, every value
    checked and encoded, but no parameters yet. The plan folds the updates of one row
    in a batch into one and builds that one's (:meth:`Statements.update_statements`),
    so a row updated twice in a batch (an atom's RUNNING and SUCCESS) has them built
    once. (Flat fields, not nested tuples: a batched writer's queue holds every
    prepared op until its batch commits, and each tuple there is one more object for
    the garbage collector to track.)"""

    key: Hashable
    table: str
    uuid: str
    at: Any
    fields: dict[str, Any]
    patch: dict[str, str]


PreparedOp = Prepared | PreparedUpdate


_MAX_CACHED = 1024  # entries per cache of meta keys (SQLite's JSON paths, update layouts)
_KEY_TEXT = json.encoder.encode_basestring  # a key's JSON text, as encoding.dumps writes it
# What an update's field holds: a state or intention (text), JSON, or the attempt.
_STR, _JSON, _INT = object(), object(), object()
# A NamedTuple's own __new__ is a Python function; the ops of every state change
# build theirs with the tuple constructor it calls.
_new_prepared = tuple.__new__


class _Layout(NamedTuple):
    """How one kind of update is sent: its shape key, the parameter names of its
    fields and of its patch (SQLite: each key's value; PostgreSQL: each key's JSON
    text, joined into one object), and the parameters every such update has (SQLite's
    JSON paths)."""

    key: Hashable
    names: tuple[str, ...]
    patch_names: tuple[str, ...]
    constants: dict[str, Any]
    kinds: tuple[object, ...]  # how each field's value is checked: _STR, _JSON or _INT
    rewrite: bool = False  # SQLite cannot name a patch key: the patch is merged by a rewrite


class Statements:
    """Prepared ops and the cached SQL that runs them, for one dialect."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise InvalidArgument("no statements for dialect %r" % dialect)
        self.dialect = dialect
        self._pg = dialect == "postgresql"
        self._cache: dict[Hashable, str] = {}
        self._paths: dict[str, str] = {}
        self._layouts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Layout] = {}

    # -- preparing (caller's thread) -----------------------------------------

    def _time(self, value: Any, what: str) -> Any:
        if type(value) is datetime and value.tzinfo is timezone.utc:  # what recorder makes
            return value if self._pg else sqlite_utc_text(value)
        if not isinstance(value, datetime):
            raise InvalidArgument("%s must be a datetime, not %r" % (what, value))
        return require_aware(value, what) if self._pg else format_sqlite_time(value)

    def prepare(self, ops: Iterable[Op]) -> list[PreparedOp]:
        prepared: list[PreparedOp] = []
        add = prepared.append
        for op in ops:
            # The ops of every state change, by their exact type; anything else
            # (subclasses, other ops, non-ops) takes the general path.
            if type(op) is AppendTransition:
                add(self._prepare_transition(op))
            elif type(op) is UpdateAtom:
                add(self._prepare_update("atom", op.uuid, op.at, op.changes, op.meta_patch))
            elif type(op) is SaveAtom:
                add(self._prepare_save_atom(op))
            else:
                prepared.extend(self._prepare_one(op))
        return prepared

    def _prepare_one(self, op: Op) -> list[PreparedOp]:
        if isinstance(op, AppendTransition):
            return [self._prepare_transition(op)]
        if isinstance(op, UpdateAtom):
            return [self._prepare_update("atom", op.uuid, op.at, op.changes, op.meta_patch)]
        if isinstance(op, UpdateFlow):
            changes = {} if op.state is None else {"state": op.state}
            return [self._prepare_update("flow", op.uuid, op.at, changes, op.meta_patch)]
        if isinstance(op, SaveAtom):
            return [self._prepare_save_atom(op)]
        if isinstance(op, SaveFlow):
            params = {
                "uuid": op.uuid,
                "logbook_uuid": op.logbook_uuid,
                "name": op.name,
                "state": opt_str(op.state, "state"),
                "meta": meta_text(op.meta),
                "created_at": self._time(op.at, "creation time"),
            }
            return [Prepared("flow_details", params)]
        if isinstance(op, DeleteRow):
            if op.table not in DELETABLE:
                raise InvalidArgument("rows of %r cannot be deleted" % (op.table,))
            return [Prepared(("delete", op.table), {"b_uuid": op.uuid})]
        if isinstance(op, SaveLogbook):
            params = {
                "uuid": op.uuid,
                "name": op.name,
                "meta": meta_text(op.meta),
                "created_at": self._time(op.at, "creation time"),
            }
            return [Prepared("logbooks", params)]
        raise InvalidArgument("not a persistence op: %r" % (op,))

    def _prepare_transition(self, op: AppendTransition) -> Prepared:
        params = {
            "flow_uuid": op.flow_uuid,
            "atom_uuid": op.atom_uuid,
            "kind": op.kind,
            "name": op.name,
            "old_state": opt_str(op.old_state, "old_state"),
            "new_state": op.new_state,
            "at": self._time(op.at, "transition time"),
            "seq": int(op.seq),
            "attempt": int(op.attempt),
            "details": details_text(op.details),
            "prev_hash": op.prev_hash,
            "hash": op.hash,
        }
        return _new_prepared(Prepared, ("transitions", params))

    def _prepare_save_atom(self, op: SaveAtom) -> Prepared:
        params = {
            "uuid": op.uuid,
            "flow_uuid": op.flow_uuid,
            "name": op.name,
            "kind": op.kind,
            "state": opt_str(op.state, "state"),
            "intention": op.intention,
            "version": None if op.version is None else str(op.version),
            "meta": meta_text(op.meta),
            "created_at": self._time(op.at, "creation time"),
        }
        return _new_prepared(Prepared, ("atom_details", params))

    def _prepare_update(
        self,
        table: str,
        uuid: str,
        at: datetime,
        changes: Mapping[str, Any],
        meta_patch: Mapping[str, Any] | None,
    ) -> PreparedUpdate:
        """An update of ``table``'s row ``uuid``, prepared.

        Its field names and patch keys are checked when their layout is made (once
        per such update); the values are checked and encoded on every update."""
        names = tuple(changes)
        keys = tuple(meta_patch) if meta_patch else ()
        layout = self._layouts.get((table, names, keys))
        if layout is None:
            layout = self._new_layout(table, names, keys)
        fields: dict[str, Any] = {}
        for name, kind, value in zip(names, layout.kinds, changes.values(), strict=True):
            if kind is _STR:  # (a state or intention: a str, checked without a call)
                fields[name] = value if type(value) is str else opt_str(value, name)
            elif kind is _JSON:
                fields[name] = json_text(value)
            else:  # _INT
                fields[name] = int(value)
        patch = patch_texts(meta_patch) if meta_patch else {}
        at_param = self._time(at, "update time")
        return _new_prepared(PreparedUpdate, (layout.key, table, uuid, at_param, fields, patch))

    def update_statements(
        self, table: str, uuid: str, at: Any, fields: dict[str, Any], patch: dict[str, str]
    ) -> list[Prepared]:
        """The statements, with their parameters, of an update whose fields and patch
        are prepared (one :class:`PreparedUpdate`, or several of one row folded)."""
        names, keys = tuple(fields), tuple(patch)
        layout = self._layouts.get((table, names, keys)) or self._new_layout(table, names, keys)
        params = layout.constants.copy()
        params.update(zip(layout.names, fields.values(), strict=True))
        params["b_uuid"] = uuid
        params["b_at"] = at
        if layout.rewrite:  # a key SQLite's JSON paths cannot name: merged by a rewrite
            return [
                Prepared(layout.key, params),
                Prepared(("rewrite", table), {"b_uuid": uuid, "patch": patch}),
            ]
        if patch:
            if self._pg:  # one JSON object: each key's text and its value's
                params["b_patch"] = "{%s}" % ",".join(
                    map(str.__add__, layout.patch_names, patch.values())
                )
            else:
                params.update(zip(layout.patch_names, patch.values(), strict=True))
        return [_new_prepared(Prepared, (layout.key, params))]

    def _new_layout(self, table: str, names: tuple[str, ...], keys: tuple[str, ...]) -> _Layout:
        """The layout of an update naming ``names`` and merging ``keys``, both checked
        (kept, up to a bound: every later such update uses it unchecked)."""
        if not ATOM_FIELDS.issuperset(names):
            unknown = set(names) - ATOM_FIELDS
            raise InvalidArgument("UpdateAtom cannot change %s" % ", ".join(sorted(unknown)))
        unchecked: tuple[Any, ...] = keys  # (whatever the caller gave: checked here)
        for key in unchecked:
            encoding.check_meta_key(key)
        layout = self._layout(table, names, keys)
        if len(self._layouts) < _MAX_CACHED:
            self._layouts[table, names, keys] = layout
        return layout

    def _layout(self, table: str, names: tuple[str, ...], keys: tuple[str, ...]) -> _Layout:
        """The statement shape and parameter names of an update naming ``names`` and
        merging ``keys``."""
        kinds = tuple(
            _JSON if name in JSON_FIELDS else _INT if name == "attempt" else _STR for name in names
        )
        constants: dict[str, Any] = {}
        if self._pg:
            patch_names = tuple(_KEY_TEXT(key) + ":" for key in keys)
            count = 1 if keys else 0
        else:
            paths = [self._path(key) for key in keys]
            if None in paths:  # the fields' update, and the patch merged by a rewrite
                return self._layout(table, names, ())._replace(rewrite=True)
            numbered = [sql_text.patch_param_names(i) for i in range(len(keys))]
            for (path_name, _), path in zip(numbered, paths, strict=True):
                constants[path_name] = path
            patch_names = tuple(value_name for _, value_name in numbered)
            count = len(keys)
        key = ("update", table, tuple(sorted(names)), count)
        return _Layout(key, tuple("b_" + name for name in names), patch_names, constants, kinds)

    def _path(self, key: str) -> str | None:
        """SQLite's JSON path of a top-level meta key; None when it cannot name it (a ``"``)."""
        path = self._paths.get(key)
        if path is None:
            if '"' in key:
                return None
            path = '$."%s"' % key
            if len(self._paths) < _MAX_CACHED:
                self._paths[key] = path
        return path

    # -- the SQL of each shape (the writer's thread) ---------------------------

    def sql(self, key: Hashable) -> str:
        """The SQL text for a shape (built once)."""
        text = self._cache.get(key)
        if text is None:
            text = sql_text.build(key, self._pg)
            self._cache[key] = text
        return text
