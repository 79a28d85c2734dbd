"""Dense retrieval on SciFact with a cold vs a warm embedding cache, against plain sentence-transformers.

"speed" is relative to plain sentence-transformers (encode + util.semantic_search), which has no cache.
Run: .venv/bin/python benchmarks/bench_dense_cache.py
"""
from __future__ import annotations

import tempfile

from _common import HEADER, measure, require, row


def ours(cache_dir: str):
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.dense import DenseRetriever

    ds = load_eval_set(require("scifact"), "test")
    dense = DenseRetriever(cache_dir=cache_dir, show_progress=False)
    dense.index(ds.corpus)
    run = dense.search(ds.query_texts, 100)
    return dense.encoded_count, {q: run.ranked_ids(q, 10) for q in ds.queries}


def plain():
    from sentence_transformers import util

    from rerank_fix.data import load_eval_set
    from rerank_fix.models import load_bi_encoder

    ds = load_eval_set(require("scifact"), "test")
    model = load_bi_encoder()
    ids = list(ds.corpus)
    docs = model.encode([d.full_text for d in ds.corpus.values()], batch_size=64, convert_to_tensor=True,
                        normalize_embeddings=True)
    queries = model.encode(list(ds.query_texts.values()), batch_size=64, convert_to_tensor=True,
                           normalize_embeddings=True)
    hits = util.semantic_search(queries, docs, top_k=100)
    return {qid: [ids[h["corpus_id"]] for h in hits[i][:10]] for i, qid in enumerate(ds.query_texts)}


if __name__ == "__main__":
    print("Dense all-MiniLM-L6-v2 on scifact/test: 5,183 docs, 300 queries, top-100")
    print(HEADER)
    reference = measure(plain)
    print(row("plain sentence-transformers (peer)", reference))
    with tempfile.TemporaryDirectory() as cache:
        cold = measure(ours, cache)
        print(row(f"rerank_fix cold cache ({cold['result'][0]} encoded)", cold, reference))
        warm = measure(ours, cache)
        print(row(f"rerank_fix warm cache ({warm['result'][0]} encoded)", warm, reference))
    same = sum(reference["result"][q] == cold["result"][1][q] for q in reference["result"])
    print(f"identical top-10 lists vs peer: {same}/{len(reference['result'])}")
