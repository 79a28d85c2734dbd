from __future__ import annotations


import pytest


@pytest.fixture(scope="session")
def demo_train():
    from rerank_fix.data import load_eval_set

    return load_eval_set("demo", split="train")


@pytest.fixture(scope="session")
def mine_dense(bi_encoder, tmp_path_factory):
    """One bi-encoder retriever with its own embedding cache, shared by the mining tests."""
    from rerank_fix.retrieve.dense import DenseRetriever

    return DenseRetriever(bi_encoder, cache_dir=tmp_path_factory.mktemp("mine_emb"), show_progress=False)
