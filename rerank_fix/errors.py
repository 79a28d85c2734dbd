"""Errors caused by the user's own input.

The CLI prints these as one line, ``error: <file>[:<line>]: <what> — <how to fix>``, with exit code 2 and no
traceback; anything else is a bug in rerank_fix: one line, exit code 1, and the traceback with ``--verbose``.
"""
from __future__ import annotations

import re

# Longest quoted value an error message shows: hostile inputs (a 1 MB id, an expanded YAML alias bomb) must
# not turn one error line into megabytes.
QUOTE_LIMIT = 80
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


class UserInputError(Exception):
    """A mistake in the user's data, config or arguments; the message says what to fix."""


class DataError(UserInputError):
    """Malformed or inconsistent evaluation data (corpus, queries, qrels, triples)."""


class ConfigError(UserInputError):
    """An invalid config, recipe or command-line option."""


class OutputError(UserInputError):
    """An output folder that cannot be written safely (a file, read-only, inside the input, foreign files)."""


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a value for an error message, cut to ``limit`` characters.

    Example:
        >>> quote("x" * 200, limit=10)
        "'xxxxxxxxxx…' (200 chars)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        head = repr(value[:limit])
        return f"{head[:-1]}…{head[-1]} ({len(value)} chars)"
    text = _short_repr(value, limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_repr(value: object, limit: int) -> str:
    # Never repr() a huge container whole: an expanded alias bomb would take minutes and gigabytes.
    if isinstance(value, (list, tuple, set, dict)) and len(value) > 8:
        return f"<{type(value).__name__} of {len(value)} items>"
    try:
        text = repr(value)
    except RecursionError:
        return f"<deeply nested {type(value).__name__}>"
    return text


def one_line(message: str, limit: int = 600) -> str:
    """A message as one printable line: control characters (ANSI/OSC escapes too) escaped, whitespace collapsed."""
    message = _CONTROL.sub(lambda m: repr(m.group())[1:-1] if m.group() not in "\n\r\t" else " ", message)
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


_DEFAULT_FIX = {
    "DataError": "fix the data file and run again",
    "ConfigError": "fix the config or option and run again",
    "OutputError": "choose another output folder",
}


def format_user_error(exc: BaseException) -> str:
    """The one line the CLI prints (after ``error: ``): ``<where>: <what> — <how to fix>``."""
    message = one_line(str(exc), limit=100_000)
    if " — " not in message:
        what, sep, fix = message.partition("; ")
        if sep and fix:
            message = f"{what} — {fix}"
        else:
            kind = next((c.__name__ for c in type(exc).__mro__ if c.__name__ in _DEFAULT_FIX), "")
            message = f"{message} — {_DEFAULT_FIX.get(kind, 'check the command and its inputs (see --help)')}"
    # Cut a long message in its middle, never the how-to-fix at its end.
    head, _, fix = message.rpartition(" — ")
    fix = fix if len(fix) <= 300 else fix[:299] + "…"
    if len(head) > 500:
        head = head[:499] + "…"
    return f"{head} — {fix}"
