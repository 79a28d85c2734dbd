"""JSONL and TSV readers whose every error names the file and line, and says what to do.

Files are read as bytes and decoded line by line, so a bad byte is reported with its line and byte offset; a
UTF-8 byte-order mark (as Excel and some editors write) is skipped.
"""
from __future__ import annotations

import csv
import json
import math
import os
import unicodedata
from pathlib import Path
from typing import Iterator

from rerank_fix.errors import DataError, quote

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"


def check_input_file(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is a readable file; otherwise a DataError saying what is wrong with it."""
    path = Path(path)
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            raise DataError(f"{path}: the {what} is a symbolic link that points to itself (a link loop) — "
                            "point it at the real file") from None
        except OSError:
            raise DataError(f"{path}: the {what} is a broken symbolic link — point it at the real file") from None
    if path.is_dir():
        raise DataError(f"{path}: expected a {what}, found a folder — give the file, not the folder")
    if not path.exists():
        raise DataError(f"{path}: {what} not found — check the path")
    if not path.is_file():
        raise DataError(f"{path}: the {what} is not a regular file — give a plain file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: permission denied reading the {what} — check its permissions (chmod u+r)")
    return path


def _open_binary(path: Path, what: str):
    check_input_file(path, what)
    try:
        return path.open("rb")
    except PermissionError:
        raise DataError(f"{path}: permission denied reading the {what} — check its permissions (chmod u+r)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc}) — check the path") from None


def decode_line(raw: bytes, path: Path | str, line_no: int, offset: int) -> str:
    """One line as text; a byte that is not UTF-8 is a DataError with its line and byte offset."""
    if line_no == 1:
        if raw.startswith(_UTF16_BOMS):
            raise DataError(f"{path}:1: the file is UTF-16 (byte-order mark {raw[:2].hex(' ')}) — re-save it as "
                            "UTF-8")
        if raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM):]
            offset += len(_UTF8_BOM)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        hint = " (it looks like latin-1 / cp1252)" if 0x80 <= byte <= 0xff else ""
        raise DataError(f"{path}:{line_no}: byte 0x{byte:02x} at byte offset {offset + exc.start} is not valid "
                        f"UTF-8{hint} — re-save the file as UTF-8, e.g. iconv -f latin1 -t utf-8") from None


def decode_text(raw: bytes, path: Path | str) -> str:
    """A whole file as text, with the same checks as :func:`decode_line`."""
    if raw.startswith(_UTF16_BOMS):
        decode_line(raw, path, 1, 0)
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = raw.rfind(b"\n", 0, exc.start) + 1
        decode_line(raw[start:raw.find(b"\n", exc.start) % (len(raw) + 1)], path, raw.count(b"\n", 0, exc.start) + 1,
                    start)
        raise  # not reached: decode_line raised


def _lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    with _open_binary(path, what) as handle:
        offset = 0
        for line_no, raw in enumerate(handle, start=1):
            yield line_no, decode_line(raw, path, line_no, offset)
            offset += len(raw)


def read_jsonl(path: str | Path, what: str = "JSONL file") -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; 1-based line numbers."""
    path = Path(path)
    for line_no, line in _lines(path, what):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{line_no}: malformed JSON ({exc.msg} at column {exc.colno}); "
                            "each line must be one JSON object") from None
        except RecursionError:
            raise DataError(f"{path}:{line_no}: the JSON is nested too deeply — each line must be one flat "
                            "object of fields") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__} — each line "
                            'must be one object like {"_id": ..., "text": ...}')
        yield line_no, obj


def read_tsv(path: str | Path, delimiter: str = "\t", what: str = "TSV file") -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)``; blank lines are skipped."""
    path = Path(path)
    lines = (line for _, line in _lines(path, what))
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: {exc} — check the quoting on that line") from None


def read_csv_dicts(path: str | Path, what: str = "CSV file") -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` of a CSV file with a header line."""
    path = Path(path)
    lines = (line for _, line in _lines(path, what))
    reader = csv.DictReader(lines)
    try:
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{reader.line_num}: more fields than the header has — quote values that "
                                "contain commas")
            yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k}
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: {exc} — check the quoting on that line") from None


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


def require_str(obj: dict, key: str, path: Path | str, line_no: int, *, allow_empty: bool = False,
                aliases: tuple[str, ...] = ()) -> str:
    """Fetch a string field, accepting aliases (``_id`` / ``id``), with a message that says what to fix."""
    for candidate in (key, *aliases):
        if candidate in obj and obj[candidate] is not None:
            value = obj[candidate]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise DataError(f"{path}:{line_no}: field {candidate!r} must be a string, got "
                                f"{type(value).__name__}")
            if not allow_empty and not value.strip():
                raise DataError(f"{path}:{line_no}: field {candidate!r} is empty; give it a non-empty value "
                                "or remove the line")
            return value
    names = " or ".join(repr(k) for k in (key, *aliases))
    raise DataError(f"{path}:{line_no}: missing field {names} — every line needs it")


def require_id(obj: dict, key: str, kind: str, path: Path | str, line_no: int,
               aliases: tuple[str, ...] = ()) -> str:
    """An id field: a non-empty string (or number) free of whitespace and control characters."""
    return check_id(require_str(obj, key, path, line_no, aliases=aliases), kind, path, line_no)


def text_field(obj: dict, key: str, path: Path | str, line_no: int | None, default: str | None = "",
               aliases: tuple[str, ...] = ()) -> str | None:
    """A text field as a string: numbers are written out; lists, objects and booleans are refused.

    A lone surrogate (an unpaired ``\\ud800`` escape) cannot be encoded for a model; it becomes U+FFFD.
    """
    for candidate in (key, *aliases):
        if candidate in obj and obj[candidate] is not None:
            value = obj[candidate]
            break
    else:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{_where(path, line_no)}: field {candidate!r} must be a string, got "
                        f"{_json_kind(value)} — write the text as one string")
    if isinstance(value, float) and not math.isfinite(value):
        raise DataError(f"{_where(path, line_no)}: field {candidate!r} must be a string, got {value} — write the text "
                        "as one string")
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
        import logging

        logging.getLogger("rerank_fix.data").warning(
            "%s: field %r has an unpaired surrogate escape (\\ud800-\\udfff); replaced by U+FFFD",
            _where(path, line_no), candidate)
    return text


def _json_kind(value) -> str:
    return {list: "a list", dict: "an object", bool: "a boolean"}.get(type(value), type(value).__name__)


def parse_grade(text: str, path: Path | str, line_no: int | None) -> int:
    """A relevance grade: a whole number (``2`` or ``2.0``); fractions, inf and nan are refused."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise DataError(f"{_where(path, line_no)}: relevance score {quote(text, 40)} is not a number — use a whole "
                        "number (0 = not relevant, 1, 2 ...)") from None
    if not math.isfinite(value):
        raise DataError(f"{_where(path, line_no)}: relevance score {quote(text, 40)} is not a finite number — use a "
                        "whole number (0 = not relevant, 1, 2 ...)")
    if not value.is_integer():
        raise DataError(f"{_where(path, line_no)}: relevance score {quote(text, 40)} is not a whole number — grades are "
                        "integers (0 = not relevant, 1, 2 ...); round them in the file")
    if abs(value) > 1_000_000:
        raise DataError(f"{_where(path, line_no)}: relevance score {quote(text, 40)} is out of range — use a small "
                        "whole number (0 = not relevant, 1, 2 ...)")
    return int(value)


def write_jsonl(path: str | Path, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
