from __future__ import annotations

import logging
from pathlib import Path

import pytest



@pytest.fixture(autouse=True)
def _restore_logging():
    # The CLI installs a rich handler on the root logger; put things back for other tests.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def dataset(tmp_path) -> Path:
    from hostile_helpers import write_set

    return write_set(tmp_path / "data")
