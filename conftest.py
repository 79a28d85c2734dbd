"""Shared by the tests and the package's doctests (pytest collects both from here down)."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _cli_logging_does_not_leak():
    """``rerank-fix`` run in-process installs a rich log handler on stdout; without undoing it, a later doctest
    would see INFO lines (e.g. BM25's empty-ranking notice) in its expected output."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__ == "RichHandler":
            root.removeHandler(handler)
    logging.getLogger("rerank_fix").setLevel(logging.NOTSET)
