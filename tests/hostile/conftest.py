from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def dataset(tmp_path) -> Path:
    from hostile_helpers import write_set

    return write_set(tmp_path / "data")
