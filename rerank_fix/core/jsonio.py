"""One atomic file writer for the whole project, and strict JSON (NaN and infinity become null).

A reader never sees a half-written file: text goes to a uniquely named temporary file beside the target,
which then replaces it in one step (``os.replace``), and the temporary file is removed if writing fails.

    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "report.json"
    >>> _ = write_json(path, {"mean": float("nan"), "folder": pathlib.Path("runs")})
    >>> json.loads(path.read_text(), parse_constant=lambda c: 1 / 0)
    {'mean': None, 'folder': 'runs'}
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator


def to_json_value(value: Any) -> Any:
    """Plain JSON types: NaN / inf -> None, paths and other objects -> str, tuples and sets -> lists."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_value(dataclasses.asdict(value))
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return to_json_value(value.item())
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays
        return to_json_value(value.tolist())
    return str(value)


def dumps(value: Any, indent: int | None = 2) -> str:
    """Strict JSON text (``allow_nan=False`` after cleaning, so a stray NaN can never slip through)."""
    return json.dumps(to_json_value(value), indent=indent, ensure_ascii=False, allow_nan=False)


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``, on an error it is removed.

    Args:
        path: The target file (its folder is created).
        mode: ``"w"`` for text, ``"wb"`` for bytes.
        encoding: Text encoding (ignored for bytes).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": encoding})) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_writer(path) as handle:
        handle.write(text)
    return Path(path)


def write_json(path: str | Path, value: Any, indent: int | None = 2) -> Path:
    """Write ``value`` as strict JSON (NaN / inf -> null), atomically, with a final newline."""
    return write_text(path, dumps(value, indent) + "\n")


def write_jsonl(path: str | Path, rows: Any) -> Path:
    """Write one strict JSON object per line, atomically."""
    with atomic_writer(path) as handle:
        for row in rows:
            handle.write(dumps(row, indent=None) + "\n")
    return Path(path)
