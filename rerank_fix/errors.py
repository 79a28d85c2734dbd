"""Errors caused by the user's own input.

The CLI prints these as a one-line message with no traceback; anything else is a bug in rerank_fix
and keeps its traceback so it can be reported.
"""
from __future__ import annotations


class UserInputError(Exception):
    """A mistake in the user's data, config or arguments; the message says what to fix."""


class DataError(UserInputError):
    """Malformed or inconsistent evaluation data (corpus, queries, qrels, triples)."""


class ConfigError(UserInputError):
    """An invalid config, recipe or command-line option."""
