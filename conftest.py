"""Shared by the tests and the package's doctests (pytest collects both from here down)."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _cli_logging_does_not_leak():
    """``rerank-fix`` run in-process installs a rich log handler on the root logger and sets levels; put them back,
    or later tests (and doctests, which compare printed output) would see its INFO lines."""
    root, ours = logging.getLogger(), logging.getLogger("rerank_fix")
    handlers, level, our_level = root.handlers[:], root.level, ours.level
    yield
    # A session fixture may have run the CLI before the snapshot, so its rich handler is dropped either way.
    root.handlers[:] = [h for h in handlers if type(h).__name__ != "RichHandler"]
    root.setLevel(level)
    ours.setLevel(our_level)
