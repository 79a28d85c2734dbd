"""JSONL and TSV readers whose every error names the file and line, and says what to do.

Files are read as bytes and decoded line by line, so a bad byte is reported with its line and byte offset; a
UTF-8 byte-order mark (as Excel and some editors write) is skipped.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Iterator

from rerank_fix.core.ids import check_id
from rerank_fix.core.textfile import text_lines
from rerank_fix.errors import DataError, quote

def read_jsonl(path: str | Path, what: str = "JSONL file") -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; 1-based line numbers."""
    path = Path(path)
    for line_no, line in text_lines(path, what):
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
    lines = (line for _, line in text_lines(path, what))
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
    lines = (line for _, line in text_lines(path, what))
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
    from rerank_fix.core.jsonio import atomic_writer

    with atomic_writer(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
