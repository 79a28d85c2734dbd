from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_set(name: str) -> Path:
    path = SHARED_DATA / name
    if not (path / "corpus.jsonl").is_file():
        pytest.skip(f"real data set {name!r} not found at {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Tests never write to the user's ~/.cache; one cache per session keeps repeated encodes cheap.
    monkeypatch.setenv("RERANK_FIX_CACHE", str(tmp_path_factory.getbasetemp() / "rerank_fix_cache"))


@pytest.fixture(scope="session")
def bi_encoder():
    from rerank_fix.models import load_bi_encoder

    return load_bi_encoder()
