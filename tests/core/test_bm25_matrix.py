"""The vectorised bm25s index: bit-identical scores to bm25s' own ``BM25.index`` on the same tokens."""
from __future__ import annotations

import logging
import random

import bm25s
import numpy as np
import pytest

from rerank_fix.core.types import Document
from rerank_fix.errors import ConfigError
from rerank_fix.retrieve.bm25 import BM25Retriever
from rerank_fix.retrieve.bm25_matrix import encode_corpus, index_tokens
from rerank_fix.retrieve.tokenize import tokenize
from tests.core.test_bm25 import QUERIES, TEXTS

logging.getLogger("bm25s").setLevel(logging.WARNING)


def random_corpus(n_docs: int = 300, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    weights = [1 / (i + 1) for i in range(len(words))]  # Zipf-like: repeated terms, varied tf and df
    docs = [rng.choices(words, weights, k=rng.randint(0, 60)) for _ in range(n_docs)]
    return docs + [tokenize(t) for t in TEXTS]


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire", "bm25l", "bm25+"])
def test_scores_bit_identical_to_bm25s_index(method, monkeypatch):
    from rerank_fix.retrieve import bm25_matrix

    monkeypatch.setattr(bm25_matrix, "_CHUNK", 97)  # many scoring steps, one boundary inside a document
    docs = random_corpus()
    plain = bm25s.BM25(k1=1.1, b=0.6, method=method)
    plain.index(docs, show_progress=False)
    ours = bm25s.BM25(k1=1.1, b=0.6, method=method)
    index_tokens(ours, iter(docs))
    assert set(ours.vocab_dict) == set(plain.vocab_dict)  # "" (bm25s' empty token) included
    assert ours.scores["num_docs"] == plain.scores["num_docs"] and len(ours.scores["data"]) == len(plain.scores["data"])
    for name in ("data", "indices", "indptr"):
        assert ours.scores[name].dtype == plain.scores[name].dtype
    rng = random.Random(5)
    vocab = sorted(t for t in plain.vocab_dict if t)
    queries = [rng.sample(vocab, rng.randint(1, 6)) for _ in range(60)] + [[t, t] for t in vocab[:5]]
    for q in queries:
        assert np.array_equal(ours.get_scores(q), plain.get_scores(q)), q
    a = plain.retrieve(queries, k=20, show_progress=False, n_threads=0)
    b = ours.retrieve(queries, k=20, show_progress=False, n_threads=0)
    assert np.array_equal(a.scores, b.scores)


def test_encode_corpus_numbers_tokens_in_first_appearance_order():
    ids, lengths, vocab = encode_corpus([["x", "y", "x"], [], ["z"]])
    assert ids.dtype == np.int32 and ids.tolist() == [0, 1, 0, 2]
    assert lengths.tolist() == [3, 0, 1] and vocab == {"x": 0, "y": 1, "z": 2}


def test_retriever_scores_match_plain_bm25s_on_its_tokens():
    docs = {f"d{i}": Document(f"d{i}", text=t) for i, t in enumerate(TEXTS)}
    ours = BM25Retriever(k1=1.2, b=0.75)
    ours.index(docs)
    run = ours.search(QUERIES, k=len(docs))
    plain = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    plain.index([tokenize(t) for t in TEXTS], show_progress=False)
    ids = list(docs)
    for qid, text in QUERIES.items():
        scores = plain.get_scores([t for t in tokenize(text) if t in plain.vocab_dict])
        expected = sorted(((ids[i], float(s)) for i, s in enumerate(scores) if s > 0),
                          key=lambda p: (p[1], p[0]), reverse=True)
        assert run.results[qid] == expected


def test_numba_backend_gives_the_same_ranking():
    pytest.importorskip("numba")  # ranx, a test dependency, brings it
    docs = {f"d{i}": Document(f"d{i}", text=t) for i, t in enumerate(TEXTS)}
    runs = []
    for backend in ("numpy", "numba"):
        bm25 = BM25Retriever(backend=backend)
        bm25.index(docs)
        runs.append(bm25.search(QUERIES, k=len(docs)))
    assert runs[0].results == runs[1].results


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown BM25 backend"):
        BM25Retriever(backend="jax")
