"""BM25 index + query cost: rerank_fix's BM25Retriever against plain bm25s and rank-bm25, from one run.

Two corpora: SciFact test (5,183 docs, 300 queries) and a synthetic one (``--synthetic``, default 100,000
docs of 40 Zipf-distributed pseudo-words and 1,000 four-word queries, the generator of bench_scale.py).

Like with like. Every contender does the same work on the same tokens: build the index, retrieve the top
100 of every query, and hand back a ranked result per query (doc ids with scores). Tokens come from our
tokenizer (SciFact: with stemming and identifier splitting; synthetic: without stemming), made once before
the clock starts and given to every contender, so the figures compare the BM25 engines, not tokenizers;
tokenizing time is printed separately for our tokenizer and ``bm25s.tokenize``.

- ``plain bm25s`` (the peer): bm25s as its README shows it, ``BM25(k1=0.9, b=0.4)``, ``index(tokens)``,
  ``retrieve(query_tokens, k=100)`` with its default ``n_threads=0``, then ``(doc id, score)`` lists;
- ``rank-bm25`` (second peer, SciFact only: pure Python, minutes at 100k): ``BM25Okapi.get_scores`` + argsort;
- ``ours``: :class:`rerank_fix.retrieve.bm25.BM25Retriever` ``index`` + ``search`` (a sorted Run), default
  numpy backend;
- ``ours, numba``: the same with ``backend="numba"`` (opt-in), JIT compiling included in its query time.

Each contender runs in a fresh process, one thread (``*_NUM_THREADS=1``). Times are process CPU seconds,
which a busy shared machine inflates far less than wall time. Peak RSS is the process's high-water mark;
"index+query MB" is how far it rose above the mark reached after loading the data and tokens. "scores" says
whether every query's top-10 score list is identical to plain bm25s' (ties may list different documents).
No tracemalloc while timing: it slows Python allocation several-fold and would distort the ratios.

    python benchmarks/bench_bm25.py                      # SciFact + 100k synthetic (about 3 minutes)
    python benchmarks/bench_bm25.py --synthetic 0        # SciFact only
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

from _common import require

K = 100


def _threads() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"


def load(corpus: str):
    """``(doc_ids, doc_texts, query_ids, query_texts, tokenize)`` for ``scifact`` or a synthetic size."""
    from rerank_fix.retrieve.tokenize import tokenize

    if corpus == "scifact":
        from rerank_fix.data import load_eval_set

        ds = load_eval_set(require("scifact"), "test")
        return (list(ds.corpus), [d.full_text for d in ds.corpus.values()], list(ds.query_texts),
                list(ds.query_texts.values()), tokenize)
    from bench_scale import texts

    docs, queries = texts(int(corpus), 1000)
    return ([str(i) for i in range(len(docs))], docs, [f"q{i}" for i in range(len(queries))], queries,
            lambda text: tokenize(text, stem=False))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def contender(name: str, corpus: str) -> dict:
    import logging

    import bm25s  # every contender imports its engine before the clock starts
    import numpy as np

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    doc_ids, doc_texts, query_ids, query_texts, tokenize = load(corpus)
    doc_tokens = [tokenize(t) for t in doc_texts]
    query_tokens = [tokenize(t) for t in query_texts]
    base_mb = rss_mb()
    cpu = time.process_time
    if name == "plain bm25s":
        t0 = cpu()
        model = bm25s.BM25(k1=0.9, b=0.4)
        model.index(doc_tokens, show_progress=False)
        t1 = cpu()
        docs, scores = model.retrieve(query_tokens, k=K, show_progress=False)
        ranked = {qid: list(zip([doc_ids[d] for d in row], row_scores))
                  for qid, row, row_scores in zip(query_ids, docs.tolist(), scores.tolist())}
        t2 = cpu()
    elif name == "rank-bm25":
        from rank_bm25 import BM25Okapi

        t0 = cpu()
        model = BM25Okapi([t or ["\x00"] for t in doc_tokens], k1=0.9, b=0.4)
        t1 = cpu()
        ranked = {}
        for qid, q in zip(query_ids, query_tokens):
            s = model.get_scores(q)
            top = np.argsort(-s)[:K]
            ranked[qid] = [(doc_ids[d], float(s[d])) for d in top.tolist()]
        t2 = cpu()
    else:
        from rerank_fix.core.types import Document
        from rerank_fix.retrieve.bm25 import BM25Retriever

        cached = dict(zip(doc_texts, doc_tokens))
        cached.update(zip(query_texts, query_tokens))
        corpus_docs = {d: Document(d, text=t) for d, t in zip(doc_ids, doc_texts)}
        queries = dict(zip(query_ids, query_texts))
        retriever = BM25Retriever(k1=0.9, b=0.4, backend="numba" if "numba" in name else "numpy")
        retriever.tokenize = cached.__getitem__  # the shared tokens, no re-tokenizing
        base_mb = rss_mb()
        t0 = cpu()
        retriever.index(corpus_docs)
        t1 = cpu()
        run = retriever.search(queries, K)
        t2 = cpu()
        ranked = run.results
        if "numba" in name:  # a second batch in the same process: the compiled scorer, as serve would see it
            retriever.search(queries, K)
            warm_s = cpu() - t2
    top10 = {qid: [(d, float(s)) for d, s in items[:10] if s > 0] for qid, items in ranked.items()}
    peak = rss_mb()
    out = {"index_s": t1 - t0, "query_s": t2 - t1, "rss_mb": peak, "grew_mb": peak - base_mb, "top10": top10}
    if "numba" in name:
        out["warm_query_s"] = warm_s
    return out


def _child(name: str, corpus: str, queue) -> None:
    _threads()
    queue.put(contender(name, corpus))


def measure(name: str, corpus: str) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, corpus, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def tokenizer_times(corpus: str) -> tuple[float, float]:
    import bm25s

    _, doc_texts, _, _, tokenize = load(corpus)
    stemmer = None
    if corpus == "scifact":  # ours stems there; so does bm25s.tokenize here, with the same Snowball stemmer
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
    t0 = time.process_time()
    for text in doc_texts:
        tokenize(text)
    t1 = time.process_time()
    bm25s.tokenize(doc_texts, stopwords="en", stemmer=stemmer, show_progress=False)
    return t1 - t0, time.process_time() - t1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=100_000, help="synthetic corpus size (0: skip it)")
    parser.add_argument("--no-numba", action="store_true", help="skip the opt-in numba row")
    args = parser.parse_args(argv)
    corpora = ["scifact"] + ([str(args.synthetic)] if args.synthetic else [])
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for corpus in corpora:
        title = ("scifact/test: 5,183 docs, 300 queries" if corpus == "scifact"
                 else f"synthetic: {int(corpus):,} docs, 1,000 queries")
        print(f"\n{title}; top-{K}; same tokens for all; CPU seconds, one thread")
        print(f"{'contender':<22} {'index s':>8} {'query s':>8} {'total s':>8} {'vs bm25s':>9} {'vs rank-bm25':>12} "
              f"{'peak RSS':>9} {'idx+q MB':>9} {'scores':>7} {'same ids':>8}")
        names = ["plain bm25s", "ours"] + ([] if args.no_numba else ["ours, numba"])
        if corpus == "scifact":
            names.insert(1, "rank-bm25")
        results = {name: measure(name, corpus) for name in names}
        peer, rank = results["plain bm25s"], results.get("rank-bm25")
        peer_total = peer["index_s"] + peer["query_s"]
        for name, r in results.items():
            total = r["index_s"] + r["query_s"]
            same_scores = all([s for _, s in r["top10"][q]] == [s for _, s in peer["top10"][q]] for q in peer["top10"])
            same_ids = sum(len({d for d, _ in r["top10"][q]} & {d for d, _ in peer["top10"][q]})
                           for q in peer["top10"]) / max(1, sum(len(v) for v in peer["top10"].values()))
            vs_rank = f"{(rank['index_s'] + rank['query_s']) / total:.2f}x" if rank else "-"
            # rank-bm25 scores in float64, bm25s in float32: its scores differ in the last digits by design.
            scores = "f64" if name == "rank-bm25" else "same" if same_scores else "DIFF"
            print(f"{name:<22} {r['index_s']:>8.3f} {r['query_s']:>8.3f} {total:>8.3f} {peer_total / total:>8.2f}x "
                  f"{vs_rank:>12} {r['rss_mb']:>7.0f}MB {r['grew_mb']:>7.0f}MB {scores:>7} "
                  f"{same_ids:>8.1%}", flush=True)
        if "ours, numba" in results:
            warm = results["ours, numba"]["warm_query_s"]
            print(f"ours, numba, a second batch of the same queries in the same process (compiled): {warm:.3f} s "
                  f"query, {peer['query_s'] / warm:.2f}x plain bm25s' query time")
        ours_t, bm25s_t = tokenizer_times(corpus)
        print(f"tokenizing the corpus (not in the figures above): ours {ours_t:.2f} s, bm25s.tokenize {bm25s_t:.2f} s")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
