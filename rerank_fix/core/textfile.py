"""Reading the user's text files safely: every failure is a DataError naming the file, line and byte offset.

A folder, a link loop, an unreadable file, a UTF-16 file or a byte that is not UTF-8 each gets one message that
says what to do; a UTF-8 byte-order mark is accepted.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from rerank_fix.errors import DataError

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


def text_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    with _open_binary(path, what) as handle:
        offset = 0
        for line_no, raw in enumerate(handle, start=1):
            yield line_no, decode_line(raw, path, line_no, offset)
            offset += len(raw)
