"""Reranking throughput per scorer backend, against plain ``CrossEncoder.predict`` in the same run.

Every contender scores the same (query, document) pairs: BM25's top ``--depth`` for the first ``--queries``
judged queries. Each runs in its own process (so its peak RSS is its own) with the same thread count.

- ``CrossEncoder.predict`` (peer): every pair in one ``predict`` call, as sentence-transformers documents it
  (it sorts the pairs by character length before batching).
- ``predict per query``: one ``predict`` call per query, as most tutorials loop (sorting within a query only).
- ``torch``, ``onnx``, ``onnx-int8``, ``openvino``, ``openvino-int8``: rerank_fix's scorer backends
  (``SCORERS``), through ``Reranker.rerank`` as the rerank stage calls them.

Reported per contender: pairs per CPU-second and its ratio to the peer (CPU time: waiting for a busy core
does not inflate it, so ratios hold on a shared machine), wall pairs/s, peak RSS, the largest score
difference and the nDCG@10 difference from the peer after reranking. The export / quantisation / int8
calibration happen once, before the clock starts (they are cached on disk like in real use); openvino-int8 is
calibrated on the pairs of *other* queries than the measured ones.

With the bundled MiniLM (no reranker ships offline) the head is freshly initialised, so absolute nDCG is
meaningless; the deltas still compare backends running the *same weights*, which is what the parity gate
checks.

    python benchmarks/bench_rerank.py                                   # demo data, all contenders
    python benchmarks/bench_rerank.py --data ../shared/data/scifact --queries 60 --depth 30
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

PEER = "CrossEncoder.predict (peer)"
CONTENDERS = (PEER, "predict per query", "torch", "onnx", "onnx-int8", "openvino", "openvino-int8")


def build_pairs(data: str, split: str, n_queries: int, depth: int, calibration_queries: int = 10) -> dict:
    """BM25 top-``depth`` candidates of the first judged queries; the next ones give calibration pairs."""
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.bm25 import BM25Retriever

    ds = load_eval_set(data, split)
    judged = sorted(q for q in ds.qrels if q in ds.queries)
    qids, calib = judged[:n_queries], judged[n_queries:n_queries + calibration_queries]
    bm25 = BM25Retriever()
    bm25.index(ds.corpus)
    run = bm25.search({q: ds.queries[q].text for q in qids + calib}, k=depth)
    candidates = {q: run.ranked_ids(q) for q in qids if run.ranked_ids(q)}
    texts = {q: ds.queries[q].text for q in candidates}
    docs = {d: ds.corpus[d].full_text for ids in candidates.values() for d in ids}
    calibration = [(ds.queries[q].text, ds.corpus[d].full_text) for q in calib for d in run.ranked_ids(q)]
    return {"qids": list(candidates), "candidates": candidates, "texts": texts, "docs": docs, "name": ds.name,
            "qrels": {q: dict(ds.qrels[q]) for q in candidates}, "calibration": calibration}


def _worker(name: str, args: dict, queue: mp.Queue) -> None:
    import numpy as np
    import torch

    from rerank_fix.models import load_cross_encoder
    from rerank_fix.rerank.base import SCORERS
    from rerank_fix.core.run import Run

    threads = args["threads"]
    if threads:
        torch.set_num_threads(threads)
    data = build_pairs(args["data"], args["split"], args["queries"], args["depth"])
    qids, candidates, texts, docs = data["qids"], data["candidates"], data["texts"], data["docs"]
    pairs = [(texts[q], docs[d]) for q in qids for d in candidates[q]]
    bs, max_length = args["batch_size"], args["max_length"]
    if name in (PEER, "predict per query", "torch"):
        model = load_cross_encoder(args["model"], max_length=max_length)
    if name in (PEER, "predict per query"):
        scorer = None
    elif name == "torch":
        scorer = SCORERS.get("torch")(model, max_length=max_length, batch_size=bs, show_progress=False)
    else:
        options = {"calibration_pairs": data["calibration"]} if name.startswith("openvino") else {}
        scorer = SCORERS.get(name)(args["model"], max_length=max_length, batch_size=bs, threads=threads or None,
                                   **options)
    # Warm-up (and, for the exported backends, export / quantise / calibrate once, as a real run caches them).
    warm = pairs[:bs]
    if scorer is None:
        model.predict([list(p) for p in warm], batch_size=bs, show_progress_bar=False)
    else:
        scorer.score(warm)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_start, start = time.process_time(), time.perf_counter()
    if name == PEER:
        scores = np.asarray(model.predict([list(p) for p in pairs], batch_size=bs, show_progress_bar=False))
    elif name == "predict per query":
        scores = np.concatenate([np.asarray(model.predict([[texts[q], docs[d]] for d in candidates[q]],
                                                          batch_size=bs, show_progress_bar=False)).reshape(-1)
                                 for q in qids])
    else:
        run = Run("bm25", {q: [(d, float(-i)) for i, d in enumerate(candidates[q])] for q in qids})
        corpus = {d: _Doc(t) for d, t in docs.items()}
        reranked = scorer.rerank(run, texts, corpus, depth=args["depth"])
        by_query = {q: dict(reranked.results[q]) for q in qids}
        scores = np.asarray([by_query[q][d] for q in qids for d in candidates[q]])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    queue.put({"name": name, "seconds": seconds, "cpu_seconds": cpu_seconds, "pairs": len(pairs),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "rss_before_scoring_mb": rss_before, "data": data["name"],
               "scores": np.asarray(scores, dtype=np.float64).reshape(-1).tolist()})


class _Doc:
    def __init__(self, text: str) -> None:
        self.full_text = text


def ndcg_at_10(scores, qids, candidates, qrels) -> float:
    from rerank_fix.evaluate.metrics import mean_scores, per_query
    from rerank_fix.core.run import Run

    ranked, offset = {}, 0
    for q in qids:
        ranked[q] = list(zip(candidates[q], scores[offset:offset + len(candidates[q])]))
        offset += len(candidates[q])
    return mean_scores(per_query(Run("r", ranked), qrels, ["ndcg@10"]))["ndcg@10"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo")
    parser.add_argument("--split", default="test")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=None, help="cross-encoder id/path (default: bundled MiniLM, fresh head)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per contender (torch, ONNX Runtime, OpenVINO alike); 1 keeps CPU time pure "
                             "work on a shared machine")
    parser.add_argument("--only", nargs="*", choices=CONTENDERS, help="a subset of contenders (the peer always runs)")
    parser.add_argument("--json", help="also write the results here")
    args = vars(parser.parse_args(argv))
    names = [PEER] + [n for n in (args["only"] or CONTENDERS) if n != PEER]
    ctx = mp.get_context("spawn")
    results = []
    for name in names:
        queue: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_worker, args=(name, args, queue))
        proc.start()
        results.append(queue.get())
        proc.join()
        print(f"  measured {name}: {results[-1]['cpu_seconds']:.1f} CPU s", file=sys.stderr, flush=True)
    import numpy as np

    data = build_pairs(args["data"], args["split"], args["queries"], args["depth"])
    qids, candidates, qrels = data["qids"], data["candidates"], data["qrels"]
    peer = results[0]
    ref = np.asarray(peer["scores"])
    ref_ndcg = ndcg_at_10(ref.tolist(), qids, candidates, qrels)
    print(f"data {peer['data']}: {peer['pairs']} pairs ({len(qids)} queries x top {args['depth']} BM25), "
          f"max_length {args['max_length']}, batch {args['batch_size']}, {args['threads']} thread(s) each; "
          f"peer nDCG@10 {ref_ndcg:.4f}")
    print(f"{'contender':30s} {'pairs/CPU-s':>11s} {'vs peer':>8s} {'pairs/s':>8s} {'peak RSS MB':>12s} "
          f"{'max |Δscore|':>13s} {'ΔnDCG@10':>9s}")
    out = []
    for r in results:
        scores = np.asarray(r["scores"])
        diff = float(np.max(np.abs(scores - ref)))
        delta = ndcg_at_10(scores.tolist(), qids, candidates, qrels) - ref_ndcg
        ratio = peer["cpu_seconds"] / r["cpu_seconds"]
        print(f"{r['name']:30s} {r['pairs'] / r['cpu_seconds']:11.1f} {ratio:7.2f}x {r['pairs'] / r['seconds']:8.1f} "
              f"{r['peak_rss_mb']:12.0f} {diff:13.2e} {delta:+9.4f}")
        out.append({k: v for k, v in r.items() if k != "scores"} | {
            "pairs_per_cpu_s": r["pairs"] / r["cpu_seconds"], "pairs_per_s": r["pairs"] / r["seconds"],
            "speedup_vs_peer_cpu": ratio, "max_abs_diff": diff, "ndcg@10_delta": delta})
    print("Goal: >= 2x the peer at |ΔnDCG@10| <= 0.005. CPU-time ratios; absolute rates depend on the machine "
          "and its load.")
    if args["json"]:
        Path(args["json"]).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
