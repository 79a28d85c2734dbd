"""Benchmark: ``rerank_fix`` hard-negative mining vs ``sentence_transformers.util.mine_hard_negatives``.

Same data (scifact train by default), same model (the bundled all-MiniLM-L6-v2, loaded once per process
before timing starts), same settings (window, negatives, relative margin 0.05, top sampling). Each
measurement runs in a fresh subprocess so memory figures do not leak between runs:

- wall time and peak RSS (psutil, sampled every 5 ms; reported as the rise over the RSS after the
  model is loaded, and as the absolute peak) in an untraced run;
- peak traced allocations (tracemalloc: Python objects and numpy buffers, not torch's allocator) in a
  separate run, because tracing slows the work down.

``cold``: nothing cached, both encode the corpus and the queries. ``warm``: embeddings cached on disk
(rerank_fix's embedding cache; sentence-transformers' ``cache_folder``), so the figures isolate the
mining itself. "rerank_fix no dup chk" switches off the duplicate check, which sentence-transformers
does not have, so both do the same work. "mine" is the in-memory result; "+save" adds writing the outputs (sentence-transformers:
``save_to_disk`` of its triplet dataset; rerank_fix: FlagEmbedding JSONL, triplet and n-tuple parquet and
datasets, stats.json, histogram.png).

This is a measurement, not a test: it prints figures and exits 0. Usage::

    python benchmarks/bench_mine.py [--data ../shared/data/scifact] [--split train] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "scifact"


class RssSampler:
    """Peak resident set size of this process, sampled in a background thread."""

    def __init__(self, interval: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process()
        self.interval = interval
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def _load(args):
    from rerank_fix.data import load_eval_set

    data = load_eval_set(args.data, split=args.split)
    if args.quick:
        data = data.subset(list(data.queries)[:100], name=data.name + "[:100]")
    return data


def _work_ours(args, data, model, cache: Path, out: Path | None):
    from rerank_fix.mine.config import MineConfig
    from rerank_fix.mine.miner import HardNegativeMiner
    from rerank_fix.retrieve.dense import DenseRetriever

    cfg = MineConfig(retriever="dense", range_min=args.range_min, range_max=args.range_max,
                     negatives=args.negatives, relative_margin=0.05, sampling="top", batch_size=args.batch_size,
                     duplicate_check=args.worker == "ours")
    dense = DenseRetriever(model, batch_size=args.batch_size, cache_dir=cache, show_progress=False)
    result = HardNegativeMiner(cfg, dense=dense, show_progress=False).mine(data)
    if out is not None:
        result.write(str(out))
    return {"triplets": sum(len(r.pos_ids) * len(r.neg_ids) for r in result.records), "queries": len(result.records)}


def _work_st(args, data, model, cache: Path, out: Path | None):
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    pairs = {"query": [], "positive": []}
    for qid, judged in data.qrels.items():
        for doc_id, grade in judged.items():
            if grade > 0:
                pairs["query"].append(data.queries[qid].text)
                pairs["positive"].append(data.corpus[doc_id].full_text)
    ds = mine_hard_negatives(Dataset.from_dict(pairs), model, corpus=[d.full_text for d in data.corpus.values()],
                             range_min=args.range_min, range_max=args.range_max, num_negatives=args.negatives,
                             relative_margin=0.05, sampling_strategy="top", output_format="triplet",
                             batch_size=args.batch_size, verbose=False, cache_folder=str(cache))
    if out is not None:
        ds.save_to_disk(str(out / "triplet"))
    return {"triplets": len(ds), "queries": len(set(ds["query"]))}


def _fill(args, data, model, cache: Path, st_cache: Path) -> None:
    """Fill both caches from one encoding: rerank_fix's cache, then sentence-transformers' cache_folder
    from the same vectors (its encoder calls are routed to rerank_fix's cache for this one run)."""
    from rerank_fix.retrieve.dense import DenseRetriever

    dense = DenseRetriever(model, batch_size=args.batch_size, cache_dir=cache, show_progress=False)
    model.encode_document = lambda texts, **kwargs: dense.encode(list(texts))
    model.encode_query = lambda texts, **kwargs: dense.encode(list(texts))
    _work_st(args, data, model, st_cache, None)


def worker(args) -> None:
    """One measurement in this process; prints one JSON line."""
    import tracemalloc

    import psutil

    from rerank_fix.models import load_bi_encoder

    data = _load(args)
    model = load_bi_encoder()
    if args.worker == "fill":
        _fill(args, data, model, Path(args.cache), Path(args.st_cache))
        print(json.dumps({}))
        return
    work = _work_st if args.worker == "st" else _work_ours
    cache = Path(args.cache)
    out = Path(tempfile.mkdtemp(prefix="bench_mine_out_")) if args.save else None
    base_rss = psutil.Process().memory_info().rss
    if args.traced:
        tracemalloc.start()
    started = time.perf_counter()
    with RssSampler() as rss:
        info = work(args, data, model, cache, out)
    wall = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if args.traced else None
    if out is not None:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"wall_s": wall, "rss_peak": rss.peak, "rss_rise": rss.peak - base_rss,
                      "traced_peak": traced_peak, **info}))


def _run(args, impl: str, cache: Path, traced: bool = False, save: bool = False, extra: list[str] = ()) -> dict:
    cmd = [sys.executable, __file__, "--worker", impl, "--cache", str(cache), "--data", str(args.data),
           "--split", args.split, "--range-min", str(args.range_min), "--range-max", str(args.range_max),
           "--negatives", str(args.negatives), "--batch-size", str(args.batch_size)]
    cmd += ["--traced"] if traced else []
    cmd += ["--save"] if save else []
    cmd += ["--quick"] if args.quick else []
    cmd += list(extra)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"worker {impl} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--split", default="train")
    parser.add_argument("--range-min", type=int, default=3)
    parser.add_argument("--range-max", type=int, default=100)
    parser.add_argument("--negatives", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="first 100 queries only")
    parser.add_argument("--skip-cold", action="store_true",
                        help="only the warm comparison: both caches are filled from one encoding first")
    parser.add_argument("--embedding-cache", default=None,
                        help="with --skip-cold: an existing rerank_fix embedding cache to start from")
    parser.add_argument("--worker", choices=["ours", "ours-nodup", "st", "fill"], help=argparse.SUPPRESS)
    parser.add_argument("--st-cache", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0
    if not (Path(args.data) / "corpus.jsonl").is_file():
        print(f"skipped: {args.data} not found (see ../shared/data/README.md)")
        return 0

    scratch = [Path(tempfile.mkdtemp(prefix="bench_mine_")) for _ in range(2)]
    ours_cache, st_cache = scratch
    rows = []
    if args.skip_cold:
        if args.embedding_cache:
            ours_cache = Path(args.embedding_cache)
        _run(args, "fill", ours_cache, extra=["--st-cache", str(st_cache)])
    else:
        # Cold runs encode everything, and fill the caches the warm runs then use.
        rows.append(("ours", "cold", "mine", _run(args, "ours", ours_cache)))
        rows.append(("st", "cold", "mine", _run(args, "st", st_cache)))
    # "ours-nodup" is rerank_fix without the duplicate check, which sentence-transformers does not have.
    for impl in ("ours", "ours-nodup", "st"):
        cache = st_cache if impl == "st" else ours_cache
        rows.append((impl, "warm", "mine", _run(args, impl, cache)))
        rows[-1][3]["traced_peak"] = _run(args, impl, cache, traced=True)["traced_peak"]
        rows.append((impl, "warm", "mine+save", _run(args, impl, cache, save=True)))

    mb = 1024 * 1024
    print(f"\nhard-negative mining on {args.data} ({args.split}{', first 100 queries' if args.quick else ''}): "
          f"window {args.range_min}:{args.range_max}, {args.negatives} negatives, relative margin 0.05, top")
    names = {"ours": "rerank_fix", "ours-nodup": "rerank_fix no dup chk", "st": "sentence-transformers"}
    print(f"{'impl':<22}{'cache':<7}{'phase':<11}{'wall s':>8}{'RSS rise MB':>13}{'RSS peak MB':>13}"
          f"{'traced MB':>11}{'queries':>9}{'triplets':>10}")
    for impl, cache, phase, r in rows:
        name = names[impl]
        traced = f"{r['traced_peak'] / mb:.1f}" if r.get("traced_peak") else "-"
        print(f"{name:<22}{cache:<7}{phase:<11}{r['wall_s']:>8.2f}{r['rss_rise'] / mb:>13.1f}"
              f"{r['rss_peak'] / mb:>13.1f}{traced:>11}{r['queries']:>9}{r['triplets']:>10}")
    by = {(i, c, p): r for i, c, p, r in rows}
    print("\nratio rerank_fix / sentence-transformers (below 1 is better):")
    for impl, cache, phase in sorted({(i, c, p) for i, c, p, _ in rows if i != "st"}):
        ours, st = by[(impl, cache, phase)], by[("st", cache, phase)]
        parts = [f"time {ours['wall_s'] / st['wall_s']:.2f}",
                 f"RSS rise {ours['rss_rise'] / max(st['rss_rise'], 1):.2f}",
                 f"RSS peak {ours['rss_peak'] / st['rss_peak']:.2f}"]
        if ours.get("traced_peak") and st.get("traced_peak"):
            parts.append(f"traced peak {ours['traced_peak'] / st['traced_peak']:.2f}")
        print(f"  {names[impl]:<22} {cache:<5} {phase:<10} " + ", ".join(parts))
    print("(triplets: one row per query x positive x negative; the two count a query's window slightly differently:\n"
          " rerank_fix skips the top ranks of the raw ranking, sentence-transformers after removing positives.)")
    import shutil

    for folder in scratch:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
