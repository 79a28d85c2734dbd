"""Secrets: API keys come from a *named* environment variable and never reach logs, reports, caches or errors.

:func:`redact` is applied to every piece of text the HTTP clients log or raise (an error body may echo the
request's headers back), and :func:`check_env_name` refuses a key pasted where the variable's name belongs,
without echoing it.

Example:
    >>> redact("401: {'Authorization': 'Bearer sk-abc123abc123abc123'}")
    "401: {'Authorization': '[REDACTED]'}"
    >>> check_env_name("OPENAI_API_KEY", "openai.api_key_env")
    'OPENAI_API_KEY'
"""
from __future__ import annotations

import logging
import os
import re
import threading
from typing import Iterable

from rerank_fix.errors import ConfigError

REDACTED = "[REDACTED]"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# Header-style credentials in any quoting: `Authorization: Bearer x`, "api-key": "x", x-api-key=x ...
_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\bx-api-key|\bapi[-_]?key|\bx-goog-api-key|\bocp-apim-subscription-key)"
    r"(['\"]?\s*[:=]\s*['\"]?)((?:bearer|basic|token)\s+)?[^\s'\",;}&]+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*:[^/\s@]*@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
# Vendor key shapes (OpenAI, Anthropic, GitHub, Slack, AWS, Hugging Face ...) wherever they appear.
_KEY_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{12,}|sk_[A-Za-z0-9_]{12,}|gh[pousr]_[A-Za-z0-9]{20,}"
                         r"|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|hf_[A-Za-z0-9]{20,}|pcsk_[A-Za-z0-9_]{20,}"
                         r"|jina_[A-Za-z0-9_-]{20,}|pa-[A-Za-z0-9_-]{20,})")


#: Key values this process has read (never printed): redacted from every log record by :class:`RedactingFilter`.
_KNOWN_SECRETS: set[str] = set()
_KNOWN_LOCK = threading.Lock()


def redact(text: object, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with credentials replaced by ``[REDACTED]``: header values, bearer tokens, key-shaped
    strings, and every literal value in ``secrets`` (the keys this process actually holds)."""
    out = str(text)
    with _KNOWN_LOCK:
        known = list(_KNOWN_SECRETS)
    for secret in [*secrets, *known]:
        if secret and len(secret) >= 4:
            out = out.replace(secret, REDACTED)
    out = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", out)
    out = _BEARER.sub(REDACTED, out)
    out = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", out)
    return _KEY_SHAPES.sub(REDACTED, out)


def looks_like_key(value: str) -> bool:
    """A value that is plausibly a credential rather than a variable name."""
    if _KEY_SHAPES.search(value) or not _ENV_NAME.match(value):
        return True
    # Variable names are words; keys are long runs mixing digits and letters, usually without underscores.
    has_digit = any(c.isdigit() for c in value)
    has_lower = any(c.islower() for c in value)
    return len(value) >= 24 and has_digit and (has_lower or "_" not in value)


def check_env_name(value: object, where: str = "api_key_env") -> str | None:
    """Return ``value`` if it is an environment variable *name* (or None); refuse anything else.

    The message never repeats the value: if it is a pasted key, echoing it would leak it into terminals,
    CI logs and summaries.

    Raises:
        ConfigError: when the value is not a string or does not look like a variable name.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be the name of an environment variable, got a {type(value).__name__}")
    if looks_like_key(value):
        raise ConfigError(
            f"{where} must be the NAME of an environment variable holding the key (like OPENAI_API_KEY), "
            f"not the key itself; the value given ({len(value)} characters, not shown) looks like a key or is "
            "not a valid name - put the key in a variable (export MY_KEY=...) and pass its name")
    return value


def read_api_key(env_name: str | None, where: str = "api_key_env") -> str | None:
    """The key held by the variable ``env_name`` (None when no name is given or the variable is unset)."""
    name = check_env_name(env_name, where)
    if name is None:
        return None
    value = os.environ.get(name, "").strip()
    if value:
        with _KNOWN_LOCK:
            _KNOWN_SECRETS.add(value)
    return value or None


class RedactingFilter(logging.Filter):
    """A handler filter that redacts credentials from every record it passes (a safety net under the
    clients' own redaction, for messages from any library)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def env_name_field(value: object) -> str | None:
    """:func:`check_env_name` for a pydantic ``api_key_env`` validator (which must raise ValueError)."""
    try:
        return check_env_name(value, "api_key_env")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
