"""Benchmark: CPU training throughput of rerank_fix's fine-tuning vs a plain ``CrossEncoderTrainer`` setup.

Same data, same model, same amount of work per step:

- data: scifact train queries (the first ``--queries``) with their positive and ``--group - 1`` BM25
  hard negatives (ranks below the positives), built here so the benchmark needs nothing but the
  shared data;
- model: the bundled all-MiniLM-L6-v2 as a one-logit cross-encoder (fresh head), ``--max-length`` tokens;
- rerank_fix: :func:`rerank_fix.finetune.run_finetune` (listwise group loss, one forward pass over all
  pairs of a micro-batch; resumable checkpoint at the end; no dev evaluation);
- plain: sentence-transformers' ``CrossEncoderTrainer`` with ``BinaryCrossEntropyLoss`` on the same
  (query, document, label) pairs, ``per_device_batch_size * group`` pairs per step, no checkpoints:
  the setup of the sentence-transformers reranker training guide.

Both run ``--steps`` optimizer steps in a fresh subprocess (peak RSS is its own). Throughput is training
queries (groups of ``--group`` pairs) per second of ``trainer.train()``; the ratio is rerank_fix / plain.

``--xlmr-step`` instead runs ONE real training step of the full-size bge-reranker-v2-m3 architecture
(XLM-RoBERTa-large shape, ~568M parameters, random weights since none can be downloaded here) on CPU
at batch 1 through rerank_fix's trainer, and reports its time and peak memory.

This is a measurement, not a test: it prints figures and exits 0. Usage::

    python benchmarks/bench_finetune.py [--queries 64] [--steps 12] [--group 8] [--max-length 128]
    python benchmarks/bench_finetune.py --xlmr-step
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HEADER, measure, require  # noqa: E402


def build_triples(data: Path, queries: int, group: int, out: Path) -> Path:
    from rerank_fix.data import load_eval_set
    from rerank_fix.retrieve.bm25 import BM25Retriever

    train = load_eval_set(str(data), split="train")
    qids = list(train.qrels)[:queries]
    bm25 = BM25Retriever()
    bm25.index(train.corpus)
    run = bm25.search({q: train.queries[q].text for q in qids}, k=group + 20)
    with out.open("w", encoding="utf-8") as handle:
        for q in qids:
            positives = [d for d, g in train.qrels[q].items() if g > 0]
            negatives = [d for d in run.ranked_ids(q) if d not in train.qrels[q]][:group - 1]
            handle.write(json.dumps({"query": train.queries[q].text, "query_id": q,
                                     "pos": [train.corpus[positives[0]].full_text],
                                     "neg": [train.corpus[d].full_text for d in negatives]}) + "\n")
    return out


def ours(triples: str, out: str, steps: int, batch: int, group: int, max_length: int) -> dict:
    import torch

    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    torch.set_num_threads(1)
    cfg = parse_config({
        "output_dir": out, "seed": 0,
        "model": {"name_or_path": "bundled", "max_length": max_length},
        "data": {"triples": triples, "group_size": group, "too_few_negatives": "repeat"},
        "train": {"max_steps": steps, "per_device_batch_size": batch, "learning_rate": 3e-5,
                  "save_steps": 10_000, "logging_steps": 1},
        "eval": {"enabled": False}})
    result = run_finetune(cfg, show_progress=False)
    seconds = result.summary["train_runtime_s"]
    return {"train_s": seconds, "queries": steps * batch, "final_loss": result.summary["final_loss"]}


def plain(triples: str, out: str, steps: int, batch: int, group: int, max_length: int) -> dict:
    import torch
    from datasets import Dataset
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import set_seed

    from rerank_fix.models import default_bi_encoder_path

    torch.set_num_threads(1)
    set_seed(0)
    rows = [json.loads(line) for line in Path(triples).read_text(encoding="utf-8").splitlines()]
    pairs = {"query": [], "document": [], "label": []}
    for r in rows:
        for doc, label in [(r["pos"][0], 1.0)] + [(n, 0.0) for n in r["neg"][:group - 1]]:
            pairs["query"].append(r["query"])
            pairs["document"].append(doc)
            pairs["label"].append(label)
    model = CrossEncoder(default_bi_encoder_path(), num_labels=1, max_length=max_length)
    args = CrossEncoderTrainingArguments(output_dir=out, max_steps=steps, per_device_train_batch_size=batch * group,
                                         learning_rate=3e-5, save_strategy="no", logging_steps=1, report_to="none",
                                         disable_tqdm=True, seed=0, dataloader_pin_memory=False)
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=Dataset.from_dict(pairs),
                                  loss=BinaryCrossEntropyLoss(model))
    start = time.perf_counter()
    trainer.train()
    return {"train_s": time.perf_counter() - start, "queries": steps * batch,
            "final_loss": trainer.state.log_history[-2].get("loss")}


def xlmr_step(out: str, max_length: int) -> dict:
    import torch

    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    triples = Path(out) / "triples.jsonl"
    triples.parent.mkdir(parents=True, exist_ok=True)
    triples.write_text(json.dumps({"query": "effects of vitamin d on bone density",
                                   "pos": ["Vitamin D supplementation increased bone mineral density in trials."],
                                   "neg": ["The stock market fell sharply on Monday."]}) + "\n", encoding="utf-8")
    torch.set_num_threads(2)
    cfg = parse_config({
        "output_dir": str(Path(out) / "run"), "seed": 0,
        "model": {"name_or_path": "BAAI/bge-reranker-v2-m3", "max_length": max_length,
                  "random_init_if_unavailable": True, "architecture": "xlm-roberta-large"},
        "data": {"triples": str(triples), "group_size": 2},
        "train": {"max_steps": 1, "per_device_batch_size": 1, "learning_rate": 2e-5, "warmup_ratio": 0.0,
                  "save_steps": 10_000, "gradient_checkpointing": True},
        "eval": {"enabled": False}})
    result = run_finetune(cfg, show_progress=False)
    return {"params": result.summary["parameters"], "train_s": result.summary["train_runtime_s"],
            "loss": result.summary["final_loss"], "steps": result.global_step,
            "origin": result.summary["weights_origin"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="BEIR folder with a train split (default: shared scifact)")
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=4, help="queries per step")
    parser.add_argument("--group", type=int, default=8, help="documents per query (1 positive + negatives)")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--xlmr-step", action="store_true", help="one training step of the full-size model")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.xlmr_step:
            m = measure(xlmr_step, str(Path(tmp) / "xlmr"), args.max_length)
            r = m["result"]
            print(f"one training step of {r['params']:,}-parameter XLM-RoBERTa-large ({r['origin']}) on CPU, "
                  f"batch 1 x group 2 x {args.max_length} tokens, gradient checkpointing, AdamW: "
                  f"{r['train_s']:.1f} s (trainer.train incl. final checkpoint), loss {r['loss']:.4f}, "
                  f"steps {r['steps']}, peak RSS {m['rss_peak_mb']:.0f} MB, process wall {m['wall_s']:.1f} s")
            return
        data = Path(args.data) if args.data else require("scifact")
        triples = build_triples(data, args.queries, args.group, Path(tmp) / "triples.jsonl")
        common = (args.steps, args.batch, args.group, args.max_length)
        results = {
            "plain CrossEncoderTrainer (BCE pairs)": measure(plain, str(triples), str(Path(tmp) / "plain"), *common),
            "rerank_fix run_finetune (group CE)": measure(ours, str(triples), str(Path(tmp) / "ours"), *common),
        }
    print(f"{args.steps} steps x {args.batch} queries x {args.group} docs, max_length {args.max_length}, "
          f"bundled MiniLM-L6, 1 thread")
    print(HEADER + f" {'queries/s':>10} {'pairs/s':>9}")
    base = None
    for name, m in results.items():
        r = m["result"]
        qps = r["queries"] / r["train_s"]
        base = base or qps
        print(f"{name:<38} {r['train_s']:>9.2f} s {qps / base:>7.2f}x {m['rss_peak_mb']:>9.0f} MB "
              f"{m['py_peak_mb']:>9.1f} MB {qps:>10.2f} {qps * args.group:>9.1f}")


if __name__ == "__main__":
    main()
