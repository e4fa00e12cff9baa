"""Recorded text made safe for a terminal: control characters shown, never obeyed.

Flow, atom and failure texts come from whoever ran the flow. Printed raw, a
name holding ``\\x1b[2J`` clears the reader's screen, ``\\x1b]0;...\\x07``
retitles their terminal, ``\\r`` overwrites what came before and U+202E turns
the rest of the line around. Every text renderer and every CLI message passes
such text through :func:`visible`; CSV keeps the exact value, and JSON too,
written with :func:`json_escapes` so that it is also safe to print.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls (U+0085 and U+009B, the 8-bit CSI, among them),
# the line and paragraph separators, and the bidi marks, embeddings, overrides
# and isolates.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile("[%s]" % _CONTROLS)
_UNSAFE_BUT_NEWLINE = re.compile("[%s]" % _CONTROLS.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return "\\x%02x" % code if code <= 0xFF else "\\u%04x" % code


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\u202e``).

    ``keep_newlines`` leaves ``\\n`` alone, for text whose lines were laid out
    by recorder (its recorded parts already escaped); everything else a
    terminal could act on is still escaped.
    """
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text)


def json_escapes(document: str) -> str:
    """JSON text with the controls ``json.dumps(ensure_ascii=False)`` leaves raw (DEL,
    C1, separators, bidi) written as ``\\uXXXX``: the same value once parsed.

    json.dumps escapes C0 inside strings itself, and outside them writes only ASCII
    and the newlines of its indentation, so every match is inside a string.
    """
    return _UNSAFE_BUT_NEWLINE.sub(lambda m: "\\u%04x" % ord(m.group()), document)
