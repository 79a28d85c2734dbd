"""Ids: what may appear in a query or document id.

Ids are written to TREC run files, whose fields are separated by whitespace, so an id is non-empty and holds no
whitespace, control character or lone surrogate.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

from rerank_fix.errors import DataError, quote


def _where(path: Path | str, line_no: int | None) -> str:
    return f"{path}:{line_no}" if line_no is not None else str(path)


_CHAR_NAMES = {" ": "a space", "\t": "a tab", "\n": "a newline", "\r": "a carriage return", "\x1b": "an escape (ESC)",
               "\x00": "a NUL byte", "\u00a0": "a no-break space"}


def char_name(char: str) -> str:
    """A readable name for a character in a message ("a tab", "a no-break space", "U+2028 line separator")."""
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name.lower()}" if name else " (a control character)")


def bad_id_character(value: str) -> str | None:
    """The first character that cannot be in an id (whitespace, control, lone surrogate), else ``None``.

    Ids are written to TREC run files, whose fields are separated by whitespace: a space, tab or newline in an
    id would split or forge a line.
    """
    for char in value:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def check_id(value: str, kind: str, path: Path | str, line_no: int | None) -> str:
    """``value`` if it is a valid id; else a DataError naming the line and the character."""
    where = _where(path, line_no)
    if not value:
        raise DataError(f"{where}: empty {kind} id — give every line a non-empty id")
    char = bad_id_character(value)
    if char is not None:
        raise DataError(f"{where}: {kind} id {quote(value, 40)} contains {char_name(char)} — ids are written to "
                        "space-separated TREC files; replace it (e.g. with _)")
    return value
