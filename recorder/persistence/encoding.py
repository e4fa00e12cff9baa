"""Turn task results, failures and meta into JSON that both databases accept, and back.

A flow must never fail because a result cannot be stored, so :func:`encode`
accepts anything and never raises. What JSON has no word for is written as a
*tagged* object, a dict whose ``"__recorder__"`` key names the tag:

==========  ==============================================  ======================
tag         written for                                     read back as
==========  ==============================================  ======================
failure     :class:`~recorder.failure.Failure` (its          ``Failure``
            ``to_dict()`` keys, queryable in SQL)
dict        a dict with a key that is not a plain string     the same dict (list
            (``{1: 'a'}``, ``{(1, 2): ...}``) or that is     keys become tuples)
            ``"__recorder__"``: ``{"items": [[k, v], ...]}``
bytes       bytes / bytearray: ``{"base64": ...}``           ``bytes``
int         ints of more than 4300 digits (Python's     the same int
            default limit for int <-> str, so no JSON
            number): ``{"hex": "-0x1f..."}``
float       NaN, infinities, -0.0 and floats of 1e16 or  the same float
            more (jsonb would print those as ints, and
            -0.0 as 0.0): ``{"value": "nan"}``
str         strings PostgreSQL cannot store (NUL, lone       the same string
            surrogates): ``{"base64": <utf-8>}``
repr        anything else (objects, sets, datetimes, ...):   :class:`StoredRepr`
            ``{"type": "pkg.Cls", "repr": "..."}``
==========  ==============================================  ======================

Every other int (jsonb keeps 131072 digits) and every finite float under 1e16
except -0.0 is a plain JSON number and reads back equal and of the same type.

Rules that lose information, on purpose: tuples are stored as lists (so a retry's
history of ``(result, {name: Failure})`` pairs reads back as ``[result, {name:
Failure}]`` lists), subclasses of str/int/float are stored as their base value,
and a repr is cut at :data:`MAX_REPR` characters. Values nested deeper than
Python's recursion limit, or that contain themselves, become a ``repr`` tag, and
so does a value whose own methods raise while it is encoded (a mapping whose
``items()`` fails, say).
Meta is a mapping of string keys; its values follow the same rules.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from recorder.exceptions import InvalidArgument, StorageError
from recorder.failure import Failure
from recorder.naming import type_name

TAG = "__recorder__"
MAX_REPR = 64 * 1024
MAX_INT_DIGITS = sys.int_info.default_max_str_digits  # 4300
# Ints below this many bits have fewer digits than any limit Python allows (640).
_SMALL_INT_BITS = 2000


@dataclass(frozen=True)
class StoredRepr:
    """A value that could not be stored as JSON: its type name and repr, read back."""

    type: str
    repr: str

    def __str__(self) -> str:
        return self.repr


def json_text_encoder(*, ensure_ascii: bool, sort_keys: bool = False) -> Callable[[Any], str]:
    """``json.JSONEncoder(separators=(",", ":"), allow_nan=False, ...).encode``, the same
    text, made once: the encoder's ``encode`` builds its C encoder anew on every call,
    which costs more than encoding the small values the write path sends. Only for
    values without cycles (what :func:`encode` returns, a transition's hashed fields).
    """
    python = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=ensure_ascii, sort_keys=sort_keys, allow_nan=False
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (e.g. PyPy): the plain encoder
        return python.encode
    strings = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )
    chunks = make(None, python.default, strings, None, ":", ",", sort_keys, False, False)

    def encode_text(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode_text


# One encoder for every write: json.dumps with options builds a new one per call.
_DUMPS = json_text_encoder(ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text of an already :func:`encode`-d value."""
    return _DUMPS(value)


def encode(value: Any) -> Any:
    """A JSON-safe equivalent of ``value`` (see the module docstring). Never raises."""
    try:
        return _enc(value)
    except RecursionError:
        return _repr_tag(value, "<value nested too deeply or containing itself>")


def decode(value: Any) -> Any:
    """The Python value :func:`encode` stood for (tags resolved)."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    return _dec(value)


def encode_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Meta for storage: string keys kept as they are, each value :func:`encode`-d.

    Keys are the top-level names a meta patch merges, so they must be real
    strings that every database can store; anything else is a caller bug.
    """
    if not meta:
        return {}
    out: dict[str, Any] = {}
    for key, value in meta.items():
        check_meta_key(key)
        out[key] = encode(value)
    return out


def check_meta_key(key: Any) -> None:
    """Refuse a meta key every database cannot store as it is (see :func:`encode_meta`)."""
    if type(key) is not str or not is_plain_str(key):
        raise InvalidArgument("meta keys must be strings without NUL characters: %r" % (key,))


def decode_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stored meta back to Python; the top level is never read as a tag."""
    if not meta:
        return {}
    if not isinstance(meta, Mapping):
        raise StorageError("cannot read stored meta: not a JSON object but %s" % type_name(meta))
    return {key: decode(value) for key, value in meta.items()}


# -- encoding -------------------------------------------------------------


def is_plain_str(text: str) -> bool:
    """True when PostgreSQL's jsonb and SQLite both store ``text`` unchanged."""
    if text.isascii():
        return "\x00" not in text
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = "<%s nested too deeply or containing itself>" % type_name(value)
    except Exception as exc:  # a broken __repr__ must not break the flow
        text = "<%s object, repr() failed: %s: %s>" % (type_name(value), type_name(exc), exc)
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "...[cut]"
    return storable_text(text)


def storable_text(text: str) -> str:
    """``text`` as a string both databases store unchanged: a NUL is written ``\\x00``,
    and text holding lone surrogates is escaped to ASCII; readable text is kept."""
    if is_plain_str(text):
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text.replace("\x00", "\\x00")


def _repr_tag(value: Any, text: str | None = None) -> dict[str, Any]:
    if isinstance(value, StoredRepr):
        return {TAG: "repr", "type": value.type, "repr": value.repr}
    return {
        TAG: "repr",
        "type": type_name(value),
        "repr": _safe_repr(value) if text is None else text,
    }


def _enc_str(text: str) -> Any:
    if is_plain_str(text):
        return str(text)
    raw = text.encode("utf-8", "surrogatepass")
    return {TAG: "str", "base64": base64.b64encode(raw).decode("ascii")}


def _enc_float(number: float) -> Any:
    # PostgreSQL's jsonb prints 1.5e+16 as 15000000000000000, which reads back as
    # an int (and not the same number), and -0.0 as 0.0 (numeric has no negative
    # zero): keep such floats, and NaN/inf, as text.
    if math.isfinite(number) and abs(number) < 1e16 and (number or math.copysign(1.0, number) > 0):
        return float(number)
    return {TAG: "float", "value": repr(float(number))}


def _int_digits_limit() -> int:
    """The fewest digits some Python reading or writing the value may convert."""
    current = sys.get_int_max_str_digits()
    return min(current, MAX_INT_DIGITS) if current else MAX_INT_DIGITS


def _enc_int(number: int) -> Any:
    if number.bit_length() < _SMALL_INT_BITS or abs(number) < 10 ** _int_digits_limit():
        return number
    return {TAG: "int", "hex": hex(number)}


def _enc(value: Any) -> Any:
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        return value if value.bit_length() < _SMALL_INT_BITS else _enc_int(value)
    if kind is str:
        return value if value.isascii() and "\x00" not in value else _enc_str(value)
    if kind is float:
        return _enc_float(value)
    if kind is list or kind is tuple:
        return [_enc(item) for item in value]
    if kind is dict:
        return _enc_dict(value)
    try:
        return _enc_other(value)
    except RecursionError:
        raise
    except Exception:  # a subclass or mapping whose own methods fail
        return _repr_tag(value)


def _enc_other(value: Any) -> Any:
    if isinstance(value, Failure):
        data = {key: _enc(item) for key, item in value.to_dict().items()}
        data[TAG] = "failure"
        return data
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _enc_int(int(value))
    if isinstance(value, float):
        return _enc_float(value)
    if isinstance(value, str):
        return _enc_str(str(value))
    if isinstance(value, (list, tuple)):
        return [_enc(item) for item in value]
    if isinstance(value, Mapping):
        return _enc_dict(dict(value))
    return _repr_tag(value)


def _enc_dict(value: dict[Any, Any]) -> Any:
    if all(type(key) is str and is_plain_str(key) for key in value) and TAG not in value:
        return {key: _enc(item) for key, item in value.items()}
    return {TAG: "dict", "items": [[_enc(key), _enc(item)] for key, item in value.items()]}


# -- decoding -------------------------------------------------------------


def _hashable(key: Any) -> Any:
    if isinstance(key, list):
        return tuple(_hashable(item) for item in key)
    if isinstance(key, dict):
        return StoredRepr(type="dict", repr=repr(key))
    return key


def _dec(value: Any) -> Any:
    if isinstance(value, list):
        return [_dec(item) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {key: _dec(item) for key, item in value.items()}
    if tag == "failure":
        fields = {key: _dec(item) for key, item in value.items() if key != TAG}
        return Failure.from_dict(fields)
    if tag == "dict":
        return {_hashable(_dec(key)): _dec(item) for key, item in value["items"]}
    if tag == "bytes":
        return base64.b64decode(value["base64"])
    if tag == "float":
        return float(value["value"])
    if tag == "int":
        return int(value["hex"], 16)
    if tag == "str":
        return base64.b64decode(value["base64"]).decode("utf-8", "surrogatepass")
    if tag == "repr":
        return StoredRepr(type=str(value.get("type")), repr=str(value.get("repr")))
    # A tag from a newer recorder: hand back what is there rather than guess.
    return {key: _dec(item) for key, item in value.items()}
