"""JSONL and TSV readers whose every error names the file and line."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

from rerank_fix.errors import DataError


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; 1-based line numbers."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("r", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{line_no}: malformed JSON ({exc.msg} at column {exc.colno}); "
                                "each line must be one JSON object") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
            yield line_no, obj


def read_tsv(path: str | Path, delimiter: str = "\t") -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)``; blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("r", encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
            if row and any(cell.strip() for cell in row):
                yield line_no, [cell.strip() for cell in row]


def require_str(obj: dict, key: str, path: Path | str, line_no: int, *, allow_empty: bool = False,
                aliases: tuple[str, ...] = ()) -> str:
    """Fetch a string field, accepting aliases (``_id`` / ``id``), with a message that says what to fix."""
    for candidate in (key, *aliases):
        if candidate in obj and obj[candidate] is not None:
            value = obj[candidate]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise DataError(f"{path}:{line_no}: field {candidate!r} must be a string, got {type(value).__name__}")
            if not allow_empty and not value.strip():
                raise DataError(f"{path}:{line_no}: field {candidate!r} is empty; give it a non-empty value "
                                "or remove the line")
            return value
    names = " or ".join(repr(k) for k in (key, *aliases))
    raise DataError(f"{path}:{line_no}: missing field {names}")


def write_jsonl(path: str | Path, rows) -> None:
    from rerank_fix.core.jsonio import atomic_writer

    with atomic_writer(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
