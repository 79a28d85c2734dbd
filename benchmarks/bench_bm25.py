"""BM25 index + query time on SciFact: rerank_fix (bm25s engine) vs rank-bm25 vs plain bm25s.

All contenders get the same pre-tokenized text (our tokenizer) and k1=0.9, b=0.4, so the figures compare
the BM25 engines, not tokenizers; tokenization time is printed once, separately. "speed" is the
index+query time of rank-bm25 divided by the contender's, measured in this run. Times are process CPU
seconds (every engine runs on one thread), which a busy shared machine does not inflate.
Run: .venv/bin/python benchmarks/bench_bm25.py
"""
from __future__ import annotations

import time

from _common import measure, require

K = 100


def load_tokens():
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.tokenize import tokenize

    ds = load_eval_set(require("scifact"), "test")
    start = time.process_time()
    docs = [tokenize(d.full_text) for d in ds.corpus.values()]
    queries = [tokenize(t) for t in ds.query_texts.values()]
    return ds, docs, queries, time.process_time() - start


def ours(engine: str):
    from rerank_fix.retrieve import bm25 as module

    if engine == "bm25s":
        import bm25s  # noqa: F401  # the retriever imports it lazily; import time is not index time (peers import first too)
    else:
        import rank_bm25  # noqa: F401
    ds, docs, queries, _ = load_tokens()
    cached = {d.full_text: toks for d, toks in zip(ds.corpus.values(), docs)}
    cached.update({t: toks for t, toks in zip(ds.query_texts.values(), queries)})
    retriever = module.BM25Retriever(k1=0.9, b=0.4, engine=engine)
    retriever.tokenize = cached.__getitem__  # same tokens as the peers, no re-tokenizing
    start = time.process_time()
    retriever.index(ds.corpus)
    run = retriever.search(ds.query_texts, K)
    return time.process_time() - start, {q: run.ranked_ids(q, 10) for q in ds.queries}


def plain_rank_bm25():
    import numpy as np
    from rank_bm25 import BM25Okapi

    ds, docs, queries, tok_s = load_tokens()
    ids = list(ds.corpus)
    start = time.process_time()
    index = BM25Okapi([t or ["\x00"] for t in docs], k1=0.9, b=0.4)
    out = {}
    for qid, q in zip(ds.query_texts, queries):
        scores = index.get_scores(q)
        out[qid] = [ids[i] for i in np.argsort(-scores)[:10]]
    return time.process_time() - start, out, tok_s


def plain_bm25s():
    import bm25s

    ds, docs, queries, _ = load_tokens()
    ids = list(ds.corpus)
    start = time.process_time()
    index = bm25s.BM25(k1=0.9, b=0.4)
    index.index(docs, show_progress=False)
    vocab = index.vocab_dict
    docs_idx, _ = index.retrieve([[t for t in q if t in vocab] for q in queries], k=K, show_progress=False,
                                 n_threads=1)
    return time.process_time() - start, {qid: [ids[d] for d in docs_idx[i][:10]] for i, qid in enumerate(ds.query_texts)}


def line(name, m, ref_s):
    seconds = m["result"][0]
    return (f"{name:<36} {seconds:>8.3f} s {ref_s / seconds:>7.1f}x {m['rss_peak_mb']:>8.0f} MB "
            f"{m['py_peak_mb']:>8.1f} MB")


if __name__ == "__main__":
    print("BM25 on scifact/test: 5,183 docs, 300 queries, top-100; index + query on identical tokens")
    print(f"{'contender':<36} {'index+query CPU':>10} {'speed':>8} {'peak RSS':>11} {'py peak':>11}")
    reference = measure(plain_rank_bm25)
    ref_s = reference["result"][0]
    print(line("rank-bm25 BM25Okapi (peer)", reference, ref_s))
    print(line("bm25s, plain (peer)", measure(plain_bm25s), ref_s))
    for engine in ("bm25s", "rank_bm25"):
        print(line(f"rerank_fix BM25Retriever[{engine}]", measure(ours, engine), ref_s))
    print(f"tokenization (shared by all, rerank_fix tokenizer with stemming): {reference['result'][2]:.2f} s")
