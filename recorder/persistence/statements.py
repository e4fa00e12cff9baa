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
from recorder.persistence.sql_text import JSON_FIELDS
from recorder.persistence.utc_text import sqlite_utc_text


class Prepared(NamedTuple):
    """One op ready to run: its statement shape and its driver-ready parameters.

    Updates also keep which row they change (``table``, ``uuid``) and what they
    change (``at``, ``fields``, ``patch``) so several updates of one row in a
    batch can be folded into one statement. (Flat fields, not nested tuples: a
    batched writer's queue holds every prepared op until its batch commits, and
    each tuple there is one more object for the garbage collector to track.)
    """

    key: Hashable
    params: dict[str, Any]
    table: str | None = None
    uuid: str | None = None
    at: Any = None
    fields: dict[str, Any] | None = None
    patch: dict[str, str] | None = None


_MAX_CACHED = 1024  # entries per cache of meta keys (paths, checked keys, layouts)
# Floats whose JSON is their repr and that encode() keeps plain (finite, under 1e16,
# not -0.0; 0.0 takes the general path, which keeps it plain too).
_PLAIN_FLOAT_MIN, _PLAIN_FLOAT_MAX = -1e16, 1e16
_KEY_TEXT = json.encoder.encode_basestring  # a key's JSON text, as encoding.dumps writes it


def _dump_encoded(value: Any) -> str:
    """JSON text of one :func:`encoding.encode`-d value: the text ``encoding.dumps``
    gives, without its encoder for the plain numbers timing meta is made of."""
    kind = type(value)
    if kind is float:  # encode() left only finite floats plain; json writes their repr
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    return encoding.dumps(value)


def _opt_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgument("%s must be a string or None, not %r" % (what, value))


# A transition's details as the trail summarizes a result or a failure: one key
# naming a dict of short texts (see recorder.audit.trail.summarize).
_SUMMARY_KINDS = frozenset({"result", "failure"})
_SUMMARY_FIELDS = frozenset({"type", "repr", "message"})


def _details_text(details: Mapping[str, Any]) -> str:
    """JSON text of a transition's details; the trail's summaries skip the general
    encoder (their keys are known names, their values texts both databases store)."""
    if type(details) is dict and len(details) == 1:
        kind, summary = next(iter(details.items()))
        if (
            kind in _SUMMARY_KINDS
            and type(summary) is dict
            and _SUMMARY_FIELDS.issuperset(summary)
            and all(type(text) is str and encoding.is_plain_str(text) for text in summary.values())
        ):
            return encoding.dumps(details)
    return Statements._meta(details)


class _Layout(NamedTuple):
    """How one kind of update is sent: its shape key, the parameter names of its
    fields and of its patch (SQLite: each key's value; PostgreSQL: each key's JSON
    text, joined into one object), and the parameters every such update has (SQLite's
    JSON paths)."""

    key: Hashable
    names: tuple[str, ...]
    patch_names: tuple[str, ...]
    constants: dict[str, Any]
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
        self._keys: set[str] = set()  # meta keys checked once (bounded, like _paths)
        self._layouts: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Layout] = {}

    # -- preparing (caller's thread) -----------------------------------------

    def _time(self, value: Any, what: str) -> Any:
        if type(value) is datetime and value.tzinfo is timezone.utc:  # what recorder makes
            return value if self._pg else sqlite_utc_text(value)
        if not isinstance(value, datetime):
            raise InvalidArgument("%s must be a datetime, not %r" % (what, value))
        return require_aware(value, what) if self._pg else format_sqlite_time(value)

    @staticmethod
    def _json(value: Any) -> str | None:
        return None if value is None else _dump_encoded(encoding.encode(value))

    @staticmethod
    def _meta(meta: Mapping[str, Any] | None) -> str:
        if not meta:  # most transitions carry no details: skip the encoder
            return "{}"
        return encoding.dumps(encoding.encode_meta(meta))

    def prepare(self, ops: Iterable[Op]) -> list[Prepared]:
        prepared: list[Prepared] = []
        for op in ops:
            prepared.extend(self._prepare_one(op))
        return prepared

    def _prepare_one(self, op: Op) -> list[Prepared]:
        if isinstance(op, AppendTransition):
            details = op.details
            params = {
                "flow_uuid": op.flow_uuid,
                "atom_uuid": op.atom_uuid,
                "kind": op.kind,
                "name": op.name,
                "old_state": _opt_str(op.old_state, "old_state"),
                "new_state": op.new_state,
                "at": self._time(op.at, "transition time"),
                "seq": int(op.seq),
                "attempt": int(op.attempt),
                "details": _details_text(details),
                "prev_hash": op.prev_hash,
                "hash": op.hash,
            }
            return [Prepared("transitions", params)]
        if isinstance(op, UpdateAtom):
            return self._prepare_update("atom", op.uuid, op.at, op.changes, op.meta_patch)
        if isinstance(op, UpdateFlow):
            changes = {} if op.state is None else {"state": op.state}
            return self._prepare_update("flow", op.uuid, op.at, changes, op.meta_patch)
        if isinstance(op, SaveAtom):
            params = {
                "uuid": op.uuid,
                "flow_uuid": op.flow_uuid,
                "name": op.name,
                "kind": op.kind,
                "state": _opt_str(op.state, "state"),
                "intention": op.intention,
                "version": None if op.version is None else str(op.version),
                "meta": self._meta(op.meta),
                "created_at": self._time(op.at, "creation time"),
            }
            return [Prepared("atom_details", params)]
        if isinstance(op, SaveFlow):
            params = {
                "uuid": op.uuid,
                "logbook_uuid": op.logbook_uuid,
                "name": op.name,
                "state": _opt_str(op.state, "state"),
                "meta": self._meta(op.meta),
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
                "meta": self._meta(op.meta),
                "created_at": self._time(op.at, "creation time"),
            }
            return [Prepared("logbooks", params)]
        raise InvalidArgument("not a persistence op: %r" % (op,))

    def _prepare_update(
        self,
        table: str,
        uuid: str,
        at: datetime,
        changes: Mapping[str, Any],
        meta_patch: Mapping[str, Any] | None,
    ) -> list[Prepared]:
        if not ATOM_FIELDS.issuperset(changes):
            unknown = set(changes) - ATOM_FIELDS
            raise InvalidArgument("UpdateAtom cannot change %s" % ", ".join(sorted(unknown)))
        fields: dict[str, Any] = {}
        for field, value in changes.items():
            if field in JSON_FIELDS:
                fields[field] = None if value is None else self._json(value)
            elif field == "attempt":
                fields[field] = int(value)
            else:
                fields[field] = _opt_str(value, field)
        patch = self._patch_texts(meta_patch) if meta_patch else {}
        return self._update_ops(table, uuid, self._time(at, "update time"), fields, patch)

    def _patch_texts(self, meta_patch: Mapping[str, Any]) -> dict[str, str]:
        """A meta patch as each key's JSON text (:func:`encoding.encode_meta`'s rules):
        encoded once here, used as it is by a SQLite merge and joined into one object
        for PostgreSQL, also when the writer folds several updates of a row."""
        texts: dict[str, str] = {}
        known = self._keys
        for key, value in meta_patch.items():
            if key not in known:
                encoding.check_meta_key(key)
                if len(known) < _MAX_CACHED:
                    known.add(key)
            if type(value) is float and _PLAIN_FLOAT_MIN < value < _PLAIN_FLOAT_MAX and value:
                texts[key] = float.__repr__(value)  # (the timing listeners' values)
            else:
                texts[key] = _dump_encoded(encoding.encode(value))
        return texts

    def _update_ops(
        self, table: str, uuid: str, at: Any, fields: dict[str, Any], patch: dict[str, str]
    ) -> list[Prepared]:
        layout = self._layout(table, tuple(fields), tuple(patch))
        params = layout.constants.copy()
        params.update(zip(layout.names, fields.values(), strict=True))
        params["b_uuid"] = uuid
        params["b_at"] = at
        if layout.rewrite:  # a key SQLite's JSON paths cannot name: merged by a rewrite
            rewrite = Prepared(("rewrite", table), {"b_uuid": uuid, "patch": patch}, table, uuid)
            return [Prepared(layout.key, params, table, uuid, at, fields, patch), rewrite]
        if patch:
            if self._pg:  # one JSON object: each key's text and its value's
                params["b_patch"] = "{%s}" % ",".join(
                    map(str.__add__, layout.patch_names, patch.values())
                )
            else:
                params.update(zip(layout.patch_names, patch.values(), strict=True))
        return [Prepared(layout.key, params, table, uuid, at, fields, patch)]

    def _layout(self, table: str, names: tuple[str, ...], keys: tuple[str, ...]) -> _Layout:
        """The statement shape and parameter names of an update naming ``names`` and
        merging ``keys`` (made once per such update)."""
        found = self._layouts.get((table, names, keys))
        if found is not None:
            return found
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
        layout = _Layout(key, tuple("b_" + name for name in names), patch_names, constants)
        if len(self._layouts) < _MAX_CACHED:
            self._layouts[table, names, keys] = layout
        return layout

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
