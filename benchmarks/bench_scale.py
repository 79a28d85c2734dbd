"""How retrieval cost grows with the corpus: 10k, 100k and 1M documents, 1,000 queries.

Synthetic corpora, so nothing needs encoding or downloading:

- dense: random unit vectors (384 dims, float32); each query is a random document plus Gaussian noise
  (cosine ~0.7 to its source), so every query has a true nearest neighbour and a long tail of near-ties;
- BM25: generated text, 40 words a document from a Zipf(1.1) distribution over 30,000 pseudo-words;
  a query is 4 words of a random document.

Contenders (each size x contender in a fresh process, so peak RSS is its own):

- ``exact numpy``: :class:`rerank_fix.retrieve.index.ExactIndex` (blocked matmul + exact rescoring);
- ``FAISS flat``: :class:`~rerank_fix.retrieve.index.FaissFlatIndex` (exact; top-100 must equal numpy's);
- ``FAISS HNSW``: :class:`~rerank_fix.retrieve.index.FaissHNSWIndex` (M=32, efSearch=128), with its
  recall@100 against exact;
- ``BM25 ours``: :class:`rerank_fix.retrieve.bm25.BM25Retriever` end to end (its tokenizer, no stemming);
- ``BM25 plain bm25s``: ``bm25s.tokenize`` + ``BM25.index`` + ``retrieve``, the peer.

Index time, query time (all 1,000 queries; CPU seconds, and wall) and peak RSS per contender; a PNG cost
curve (CPU time) and a JSON file. "same" is, for FAISS, whether its top-100 is identical to exact numpy's,
and for plain bm25s the share of its top-10 that ours also returns (ties may be broken differently).
Threads are pinned (``--threads``, default 1) so CPU time is pure work on a shared machine; wall times on a
loaded machine are inflated, the ratios within one run are the point.

    python benchmarks/bench_scale.py --out /tmp/scale                 # 10k, 100k, 1M (about 6 GB peak)
    python benchmarks/bench_scale.py --sizes 10000 100000 --out /tmp/scale
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIM = 384
K = 100
DENSE = ("exact numpy", "FAISS flat", "FAISS HNSW")
SPARSE = ("BM25 ours", "BM25 plain bm25s")


def unit_vectors(n: int, seed: int, chunk: int = 100_000):
    """Yield float32 unit vectors in chunks (the 1M case never holds a second copy)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        x = rng.standard_normal((min(chunk, n - start), DIM), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x


def dense_queries(n_docs: int, n_queries: int):
    import numpy as np

    rng = np.random.default_rng(7)
    sources = np.sort(rng.choice(n_docs, n_queries, replace=False))
    picked = np.empty((n_queries, DIM), dtype=np.float32)
    offset = 0
    for chunk in unit_vectors(n_docs, 0):
        inside = (sources >= offset) & (sources < offset + len(chunk))
        picked[inside] = chunk[sources[inside] - offset]
        offset += len(chunk)
    noisy = picked + rng.standard_normal(picked.shape, dtype=np.float32) / np.sqrt(DIM)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def vocabulary(size: int = 30_000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "de", "pa", "gu", "ze", "fo", "bi", "hy", "qu"]
    words, i = [], 0
    while len(words) < size:
        n, word = i, ""
        while True:
            word += syllables[n % 16]
            n //= 16
            if n == 0:
                break
        words.append(word + "x")  # no accidental English stopwords
        i += 1
    return words


def texts(n_docs: int, n_queries: int, words_per_doc: int = 40):
    import numpy as np

    vocab = np.array(vocabulary())
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = ranks ** -1.1
    p /= p.sum()
    rng = np.random.default_rng(1)
    docs: list[str] = []
    for start in range(0, n_docs, 50_000):
        m = min(50_000, n_docs - start)
        ids = rng.choice(len(vocab), size=(m, words_per_doc), p=p)
        docs.extend(" ".join(row) for row in vocab[ids])
    q_rng = np.random.default_rng(2)
    queries = [" ".join(q_rng.choice(docs[j].split(), 4, replace=False))
               for j in q_rng.choice(n_docs, n_queries, replace=False)]
    return docs, queries


def _pin_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)


def _dense(name: str, n_docs: int, n_queries: int) -> dict:
    import numpy as np

    from rerank_fix.retrieve.index import make_index

    kind = {"exact numpy": "exact", "FAISS flat": "flat", "FAISS HNSW": "hnsw"}[name]
    queries = dense_queries(n_docs, n_queries)
    index = make_index(kind, n_docs)
    cpu0, t0 = time.process_time(), time.perf_counter()
    if kind == "exact":
        matrix = np.empty((n_docs, DIM), dtype=np.float32)
        offset = 0
        for chunk in unit_vectors(n_docs, 0):
            matrix[offset:offset + len(chunk)] = chunk
            offset += len(chunk)
        index.add(matrix)
    else:
        # FAISS indexes copy what they are given, so hand them chunks (the 1M case stays at one copy).
        first = True
        for chunk in unit_vectors(n_docs, 0):
            if first:
                index.add(chunk)
                first = False
            else:
                index.index.add(chunk)
                index.size += len(chunk)
    index_s, index_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    cpu0, t0 = time.process_time(), time.perf_counter()
    rows, _ = index.search(queries, K)
    query_s, query_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"index_s": index_s, "index_cpu_s": index_cpu, "query_s": query_s, "query_cpu_s": query_cpu,
            "rows": rows.tolist()}


def _sparse(name: str, n_docs: int, n_queries: int) -> dict:
    import logging

    docs, queries = texts(n_docs, n_queries)
    if name == "BM25 ours":
        from rerank_fix.core.types import Document
        from rerank_fix.retrieve.bm25 import BM25Retriever

        import bm25s  # noqa: F401  # import time is not index time

        corpus = {str(i): Document(str(i), text=t) for i, t in enumerate(docs)}
        del docs
        retriever = BM25Retriever(stem=False)
        cpu0, t0 = time.process_time(), time.perf_counter()
        retriever.index(corpus)
        index_s, index_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        cpu0, t0 = time.process_time(), time.perf_counter()
        run = retriever.search({str(i): q for i, q in enumerate(queries)}, k=K)
        query_s, query_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        top = [run.ranked_ids(str(i), 10) for i in range(len(queries))]
    else:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        cpu0, t0 = time.process_time(), time.perf_counter()
        tokens = bm25s.tokenize(docs, stopwords="en", show_progress=False)
        del docs
        model = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
        model.index(tokens, show_progress=False)
        index_s, index_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        cpu0, t0 = time.process_time(), time.perf_counter()
        vocab = model.vocab_dict
        q_tokens = [[t for t in q if t in vocab]
                    for q in bm25s.tokenize(queries, stopwords="en", show_progress=False, return_ids=False)]
        idx, _ = model.retrieve(q_tokens, k=K, show_progress=False, n_threads=1)
        query_s, query_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        top = [[str(d) for d in row[:10]] for row in idx.tolist()]
    return {"index_s": index_s, "index_cpu_s": index_cpu, "query_s": query_s, "query_cpu_s": query_cpu,
            "top10": top}


def _child(name: str, n_docs: int, n_queries: int, threads: int, queue) -> None:
    _pin_threads(threads)
    try:
        if name in DENSE:
            if name != "exact numpy":
                import faiss

                faiss.omp_set_num_threads(threads)
            out = _dense(name, n_docs, n_queries)
        else:
            out = _sparse(name, n_docs, n_queries)
        out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception as exc:  # reported as this contender's row; the other contenders still run
        out = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    queue.put(out)


def measure(name: str, n_docs: int, n_queries: int, threads: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, n_docs, n_queries, threads, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name in DENSE + SPARSE:
        mine = sorted((r for r in rows if r["contender"] == name and "error" not in r), key=lambda r: r["docs"])
        if not mine:
            continue
        x = [r["docs"] for r in mine]
        style = "-o" if name in DENSE else "--s"
        axes[0].plot(x, [r["query_cpu_s"] * 1000 / r["queries"] for r in mine], style, label=name)
        axes[1].plot(x, [r["index_cpu_s"] for r in mine], style, label=name)
        axes[2].plot(x, [r["rss_peak_mb"] / 1024 for r in mine], style, label=name)
    titles = ("query CPU time per query (ms)", "index CPU time (s)", "peak RSS (GiB)")
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("documents")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Cost curve: dense (384-d unit vectors) and BM25 (generated text), 1,000 queries, top-100")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hnsw-max", type=int, default=1_000_000,
                        help="skip HNSW above this many documents (its build is the slowest step on 2 cores)")
    parser.add_argument("--only", nargs="*", choices=DENSE + SPARSE)
    parser.add_argument("--out", default="scale_results", help="folder for scale.json and scale.png")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    names = args.only or list(DENSE + SPARSE)
    print(f"{'docs':>9} {'contender':<18} {'index CPU s':>11} {'query CPU s':>11} {'ms/query':>9} {'wall idx+q':>10} "
          f"{'peak RSS':>10} {'recall@100':>10} {'same':>6}")
    for n in args.sizes:
        exact_rows = None
        ours_top = None
        for name in names:
            if name == "FAISS HNSW" and n > args.hnsw_max:
                continue
            r = measure(name, n, args.queries, args.threads)
            r.update({"contender": name, "docs": n, "queries": args.queries})
            note, same = "", ""
            if "rows" in r:
                got = r.pop("rows")
                if name == "exact numpy":
                    exact_rows = got
                elif exact_rows is not None:
                    r["recall@100_vs_exact"] = sum(len(set(a) & set(b)) for a, b in zip(exact_rows, got)) / (
                        K * len(got))
                    r["identical_top100_to_exact"] = got == exact_rows
                    note = f"{r['recall@100_vs_exact']:.4f}"
                    same = "yes" if r["identical_top100_to_exact"] else "no"
            if "top10" in r:
                got = r.pop("top10")
                if name == "BM25 ours":
                    ours_top = got
                elif ours_top is not None:
                    r["top10_overlap_with_ours"] = sum(len(set(a) & set(b)) for a, b in zip(ours_top, got)) / (
                        10 * len(got))
                    same = f"{r['top10_overlap_with_ours']:.3f}"
            rows.append(r)
            if "error" in r:
                print(f"{n:>9} {name:<18} {r['error']}", flush=True)
            else:
                print(f"{n:>9} {name:<18} {r['index_cpu_s']:>11.2f} {r['query_cpu_s']:>11.2f} "
                      f"{r['query_cpu_s'] * 1000 / args.queries:>9.3f} {r['index_s'] + r['query_s']:>9.1f}s "
                      f"{r['rss_peak_mb']:>8.0f} MB {note:>10} {same:>6}", flush=True)
            (out / "scale.json").write_text(json.dumps(rows, indent=2))
        plot(rows, out / "scale.png")
    print(f"wrote {out / 'scale.json'} and {out / 'scale.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
