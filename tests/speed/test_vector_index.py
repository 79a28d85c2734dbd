"""FAISS indexes against exact numpy, and the memory-mapped embedding cache."""
from __future__ import annotations

import numpy as np
import pytest

from rerank_fix.retrieve.cache import EmbeddingCache
from rerank_fix.retrieve.index import INDEXES, canonical_order, make_index

faiss = pytest.importorskip("faiss")


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_faiss_flat_returns_the_exact_numpy_top_100():
    docs, queries = _unit(5000, 64, 0), _unit(50, 64, 1)
    exact, flat = make_index("exact", len(docs)), make_index("flat", len(docs))
    exact.add(docs)
    flat.add(docs)
    e_idx, e_scores = exact.search(queries, 100)
    f_idx, f_scores = flat.search(queries, 100)
    assert np.array_equal(e_idx, f_idx)
    np.testing.assert_allclose(e_scores, f_scores, atol=1e-5)


def test_hnsw_and_ivf_recall_against_exact():
    docs, queries = _unit(4000, 32, 2), _unit(40, 32, 3)
    exact = make_index("exact", len(docs))
    exact.add(docs)
    truth, _ = exact.search(queries, 10)
    for kind, floor in (("hnsw", 0.9), ("ivf", 0.6)):
        index = make_index(kind, len(docs))
        index.add(docs)
        got, _ = index.search(queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)])
        assert recall >= floor, (kind, recall)


def test_auto_switches_to_faiss_past_the_threshold():
    assert make_index("auto", 10, threshold=100).kind == "exact"
    assert make_index("auto", 100, threshold=100).kind == "flat"
    # No threshold (the default): exact numpy at every size, the faster exact search on CPU.
    assert make_index("auto", 10_000_000).kind == "exact"
    assert set(INDEXES) == {"exact", "flat", "hnsw", "ivf"}


def test_canonical_order_breaks_ties_by_row():
    idx = np.array([[7, 3, 5, -1]])
    scores = np.array([[1.0, 2.0, 1.0, -np.inf]], dtype=np.float32)
    rows, _ = canonical_order(idx, scores)
    assert rows.tolist() == [[3, 5, 7, -1]]


def test_dense_retriever_flat_equals_exact_on_demo(bi_encoder, tmp_path):
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.dense import DenseRetriever

    ds = load_eval_set("demo")
    runs = {}
    for kind in ("exact", "flat"):
        dense = DenseRetriever(bi_encoder, cache_dir=tmp_path, show_progress=False, index=kind)
        dense.index(ds.corpus)
        runs[kind] = dense.search(ds.query_texts, k=100)
    for qid in ds.query_texts:
        assert runs["exact"].ranked_ids(qid) == runs["flat"].ranked_ids(qid)


def test_cache_returns_the_mapped_file_and_keeps_fp16_apart(tmp_path):
    vectors = _unit(20, 8, 4)
    texts = [f"t{i}" for i in range(20)]
    cache = EmbeddingCache(tmp_path, "m")
    first, encoded = cache.get_or_encode(texts, lambda missing: vectors)
    assert encoded == 20
    again, encoded = EmbeddingCache(tmp_path, "m").get_or_encode(texts, lambda missing: 1 / 0)
    assert encoded == 0 and isinstance(again, np.memmap)  # the whole shard, mapped, not copied
    np.testing.assert_array_equal(again, vectors)
    half = EmbeddingCache(tmp_path, "m", dtype="float16")
    out, encoded = half.get_or_encode(texts[:5], lambda missing: vectors[:5])
    assert encoded == 5 and half.folder != cache.folder and out.dtype == np.float32
    assert np.load(next(half.folder.glob("*.npy"))).dtype == np.float16
    np.testing.assert_allclose(out, vectors[:5], atol=1e-3)


@pytest.mark.real
def test_faiss_flat_equals_exact_numpy_on_scifact():
    from tests.conftest import shared_set

    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.dense import DenseRetriever

    ds = load_eval_set(shared_set("scifact"), "test")
    exact = DenseRetriever(show_progress=False, index="exact")
    exact.index(ds.corpus)
    flat = DenseRetriever(show_progress=False, index="flat")  # same model spec: the corpus comes from the cache
    flat.index(ds.corpus)
    a, b = exact.search(ds.query_texts, k=100), flat.search(ds.query_texts, k=100)
    assert all(a.ranked_ids(q) == b.ranked_ids(q) for q in ds.query_texts)
