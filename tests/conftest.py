from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Set at import, before any fixture of any scope runs: tests never touch the user's ~/.cache, and one cache
# per session lets module-scoped fixtures and the tests that use them see the same cached models.
os.environ["RERANK_FIX_CACHE"] = tempfile.mkdtemp(prefix="rerank_fix_test_cache_")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, written out plainly so tests check the typo code against an independent oracle."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def shared_set(name: str) -> Path:
    path = SHARED_DATA / name
    if not (path / "corpus.jsonl").is_file():
        pytest.skip(f"real data set {name!r} not found at {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def bi_encoder():
    from rerank_fix.models import load_bi_encoder

    return load_bi_encoder()
