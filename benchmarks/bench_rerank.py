"""Reranking throughput: our reranker (every query's pairs in ONE CrossEncoder.predict call, so the length
sorting inside predict spans all queries) against the two usual ways of calling a cross-encoder:

- per query: ``model.predict(pairs_of_one_query)`` in a loop, as tutorials do (sorting only within a query);
- unsorted batches: ``model.predict(batch)`` on consecutive ``batch_size`` chunks of the pairs, so predict
  has nothing to sort and every batch pads to its own longest pair.

All three score the same pairs with the same weights; the scores must agree to 1e-5. Each method runs in its
own process so its peak memory (max RSS) is its own.

    python benchmarks/bench_rerank.py                      # the bundled demo data
    python benchmarks/bench_rerank.py --data ../shared/data/scifact --queries 100 --depth 50

Throughput depends on the machine and on what else runs on it; the ratios are the point. Speed-ups are
computed on process CPU time, which waiting for a busy core does not inflate; use --threads 1 on a shared
machine so that CPU time is pure work.
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METHODS = ("ours: one call, all queries", "per-query predict", "unsorted batches")


def build_pairs(data: str, split: str, n_queries: int, depth: int) -> tuple[list[str], dict[str, list[str]], dict]:
    """BM25 top-``depth`` candidates for the first ``n_queries`` queries (by id)."""
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.bm25 import BM25Retriever

    ds = load_eval_set(data, split)
    qids = sorted(ds.qrels)[:n_queries]
    bm25 = BM25Retriever()
    bm25.index(ds.corpus)
    run = bm25.search({q: ds.queries[q].text for q in qids}, k=depth)
    candidates = {q: run.ranked_ids(q) for q in qids if run.ranked_ids(q)}
    texts = {q: ds.queries[q].text for q in candidates}
    docs = {d: ds.corpus[d].full_text for ids in candidates.values() for d in ids}
    return list(candidates), candidates, {"texts": texts, "docs": docs, "name": ds.name}


def _load_model(model: str | None, max_length: int):
    import torch

    from rerank_fix.models import load_cross_encoder

    torch.manual_seed(0)  # a fresh head must get the same random weights in every process
    return load_cross_encoder(model, max_length=max_length)


def _worker(method: int, args: dict, queue: mp.Queue) -> None:
    import numpy as np
    import torch

    if args["threads"]:
        torch.set_num_threads(args["threads"])
    from rerank_fix.rerank.cross_encoder import CrossEncoderReranker
    from rerank_fix.core.run import Run

    qids, candidates, extra = build_pairs(args["data"], args["split"], args["queries"], args["depth"])
    texts, docs = extra["texts"], extra["docs"]
    model = _load_model(args["model"], args["max_length"])
    pairs = [(texts[q], docs[d]) for q in qids for d in candidates[q]]
    model.predict([list(p) for p in pairs[:8]], batch_size=8, show_progress_bar=False)  # warm-up
    bs = args["batch_size"]
    cpu_start = time.process_time()
    start = time.perf_counter()
    if method == 0:
        run = Run("bm25", {q: [(d, float(-i)) for i, d in enumerate(candidates[q])] for q in qids})
        reranker = CrossEncoderReranker(model, max_length=args["max_length"], batch_size=bs, show_progress=False)
        corpus = {d: _Doc(t) for d, t in docs.items()}
        reranked = reranker.rerank(run, texts, corpus, depth=args["depth"])
        by_query = {q: dict(reranked.results[q]) for q in qids}
        scores = np.asarray([by_query[q][d] for q in qids for d in candidates[q]], dtype=np.float32)
    elif method == 1:
        parts = []
        for q in qids:
            parts.append(np.asarray(model.predict([[texts[q], docs[d]] for d in candidates[q]], batch_size=bs,
                                                  show_progress_bar=False), dtype=np.float32).reshape(-1))
        scores = np.concatenate(parts)
    else:
        parts = [np.asarray(model.predict([list(p) for p in pairs[i:i + bs]], batch_size=bs, show_progress_bar=False),
                            dtype=np.float32).reshape(-1) for i in range(0, len(pairs), bs)]
        scores = np.concatenate(parts)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"method": METHODS[method], "seconds": seconds, "cpu_seconds": cpu_seconds, "pairs": len(pairs),
               "peak_rss_mb": peak_mb,
               "scores": np.asarray(scores, dtype=np.float64).tolist(), "data": extra["name"]})


class _Doc:
    def __init__(self, text: str) -> None:
        self.full_text = text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo")
    parser.add_argument("--split", default="test")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=None, help="cross-encoder id/path (default: bundled MiniLM, fresh head)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the three methods round-robin this many times and report the median time "
                             "(steadier on a shared machine)")
    parser.add_argument("--json", help="also write the results here")
    args = vars(parser.parse_args(argv))
    ctx = mp.get_context("spawn")
    runs: dict[int, list[dict]] = {m: [] for m in range(len(METHODS))}
    for _ in range(max(1, args["repeat"])):
        for method in range(len(METHODS)):
            queue: mp.Queue = ctx.Queue()
            proc = ctx.Process(target=_worker, args=(method, args, queue))
            proc.start()
            runs[method].append(queue.get())
            proc.join()
    results = []
    for method, tries in runs.items():
        times = sorted(t["seconds"] for t in tries)
        cpu = sorted(t["cpu_seconds"] for t in tries)
        best = dict(tries[0])
        best["seconds"] = times[len(times) // 2]
        best["cpu_seconds"] = cpu[len(cpu) // 2]
        best["all_seconds"] = [t["seconds"] for t in tries]
        best["peak_rss_mb"] = max(t["peak_rss_mb"] for t in tries)
        results.append(best)
    import numpy as np

    ref = np.asarray(results[0]["scores"])
    print(f"data {results[0]['data']}: {results[0]['pairs']} pairs ({args['queries']} queries x top {args['depth']}), "
          f"max_length {args['max_length']}, batch {args['batch_size']}")
    print(f"{'method':32s} {'wall s':>8s} {'pairs/s':>8s} {'CPU s':>8s} {'pairs/CPU-s':>11s} {'speed-up':>9s} "
          f"{'peak RSS MB':>12s} {'max |Δscore|':>13s}")
    out = []
    for r in results:
        diff = float(np.max(np.abs(np.asarray(r["scores"]) - ref))) if len(ref) else 0.0
        rate = r["pairs"] / r["seconds"]
        cpu_rate = r["pairs"] / r["cpu_seconds"]
        # CPU time is the steadier yardstick on a shared machine (wall time includes waiting for a core).
        speedup = results[1]["cpu_seconds"] / r["cpu_seconds"]
        print(f"{r['method']:32s} {r['seconds']:8.1f} {rate:8.1f} {r['cpu_seconds']:8.1f} {cpu_rate:11.1f} "
              f"{speedup:8.2f}x {r['peak_rss_mb']:12.0f} {diff:13.2e}")
        out.append({k: v for k, v in r.items() if k != "scores"} | {"pairs_per_s": rate, "pairs_per_cpu_s": cpu_rate,
                                                                    "max_abs_diff": diff,
                                                                    "speedup_vs_per_query_cpu": speedup})
        if diff > 1e-5:
            print(f"ERROR: {r['method']} scores differ from ours by {diff:.2e} (> 1e-5)")
            return 1
    ours, per_query, unsorted = (r["cpu_seconds"] for r in results)
    print(f"CPU time: ours vs per-query predict {per_query / ours:.2f}x faster; "
          f"ours vs unsorted batches {unsorted / ours:.2f}x faster")
    if args["json"]:
        Path(args["json"]).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
