from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from finetune_helpers import tiny_config, write_collection, write_triples


@pytest.fixture(scope="session")
def collection(tmp_path_factory) -> Path:
    return write_collection(tmp_path_factory.mktemp("coll") / "coll")


@pytest.fixture(scope="session")
def triples(collection, tmp_path_factory) -> Path:
    return write_triples(collection, tmp_path_factory.mktemp("triples") / "triples.jsonl")


@pytest.fixture
def make_config(collection, triples, tmp_path):
    """Write a tiny YAML config (overrides per section) and return its path."""

    def _make(name: str = "tiny.yaml", out: Path | None = None, **sections) -> Path:
        cfg = tiny_config(collection, out or tmp_path / "run", triples, **sections)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        return path

    return _make


@pytest.fixture(scope="session")
def trained_run(collection, triples, tmp_path_factory):
    """One tiny 2-epoch run (eval on), shared by the training, resume and export tests."""
    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    out = tmp_path_factory.mktemp("trained") / "run"
    cfg = parse_config(tiny_config(collection, out, triples), source="tiny")
    result = run_finetune(cfg, show_progress=False)
    return result


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    # Two shared cores: one intra-op thread per process avoids oversubscription stalls.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
