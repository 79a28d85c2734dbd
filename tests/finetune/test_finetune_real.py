"""Slow checks (``make test-real``): multi-process training, the full-size model's code path, scifact."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.real


def test_two_cpu_processes_train_one_model_with_ddp(collection, triples, tmp_path):
    from finetune_helpers import tiny_config

    from rerank_fix.finetune.checkpoint import read_log

    if shutil.which("accelerate") is None and not (Path(sys.executable).parent / "accelerate").exists():
        pytest.skip("accelerate's launcher is not installed")
    launcher = str(Path(sys.executable).parent / "accelerate")
    out = tmp_path / "ddp"
    config = tmp_path / "ddp.yaml"
    config.write_text(yaml.safe_dump(tiny_config(collection, out, triples)), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    # `--multi_gpu` picks torch.distributed's launcher; without CUDA the trainer switches to CPU (gloo) DDP.
    proc = subprocess.run([launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "rerank_fix.finetune",
                           str(config), "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    # Two processes share each step's batches: 36 queries / (6 per process x 2) = 3 steps an epoch.
    assert summary["global_step"] == 6
    assert [r["step"] for r in read_log(out / "loss_log.jsonl")] == list(range(1, 7))
    assert [r["step"] for r in read_log(out / "eval_log.jsonl")] == [0, 3, 6]
    assert (out / "best" / "model.safetensors").is_file()


def test_one_training_step_of_the_full_size_bge_architecture_on_cpu(tmp_path):
    """The bge-reranker-v2-m3 code path at full size: XLM-R-large shape, random weights, batch 1."""
    import torch

    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    triples = tmp_path / "t.jsonl"
    triples.write_text(json.dumps({"query": "effects of vitamin d on bone density",
                                   "pos": ["Vitamin D supplementation increased bone mineral density."],
                                   "neg": ["The stock market fell sharply on Monday."]}) + "\n")
    cfg = parse_config({
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": "BAAI/bge-reranker-v2-m3", "max_length": 64, "random_init_if_unavailable": True,
                  "architecture": "xlm-roberta-large"},
        "data": {"triples": str(triples), "group_size": 2},
        "train": {"max_steps": 1, "per_device_batch_size": 1, "warmup_ratio": 0.0, "save_steps": 10_000,
                  "gradient_checkpointing": True},
        "eval": {"enabled": False}})
    result = run_finetune(cfg, show_progress=False)
    assert result.global_step == 1 and 560e6 < result.summary["parameters"] < 575e6
    assert torch.isfinite(torch.tensor(result.summary["final_loss"]))


def scifact_experiment(data: Path, work: Path, triples: Path | None = None, show_progress: bool = False,
                       depth: int = 50) -> dict:
    """Mine scifact train (unless ``triples`` is given), fine-tune the CPU config, evaluate on test.

    Returns the figures: dense, dense + un-tuned cross-encoder (fresh head), dense + tuned cross-encoder,
    each reranking the dense top ``depth``, with 95% bootstrap CIs and paired tests against dense and un-tuned.
    """
    from rerank_fix.cli import main
    from rerank_fix.data import load_eval_set
    from rerank_fix.evaluate.evaluator import StratifiedEvaluator
    from rerank_fix.finetune.config import ModelConfig, load_config
    from rerank_fix.finetune.modeling import load_model
    from rerank_fix.finetune.trainer import run_finetune
    from rerank_fix.rerank.cross_encoder import CrossEncoderReranker
    from rerank_fix.retrieve.dense import DenseRetriever

    if triples is None:
        assert main(["mine", "--data", str(data), "--split", "train", "--out", str(work / "mine")]) == 0
        triples = work / "mine" / "triples.jsonl"
    # A short version of the CPU config (240 queries, one epoch, 60 steps) keeps this check near 20 minutes;
    # the full config's figures are in the closing notes / README.
    cfg = load_config(ROOT / "configs" / "finetune" / "cpu-minilm.yaml", overrides={
        "output_dir": str(work / "run"), "data.triples": str(triples), "eval.data": str(data),
        "data.max_triples": 240, "train.epochs": 1, "train.learning_rate": 5e-5, "eval.max_queries": 30})
    result = run_finetune(cfg, show_progress=show_progress)

    test = load_eval_set(str(data), split="test")
    dense = DenseRetriever(show_progress=show_progress)
    dense.index(test.corpus)
    first = dense.search(test.query_texts, k=depth)
    untuned, _ = load_model(ModelConfig(name_or_path="bundled", max_length=cfg.model.max_length), seed=cfg.seed)
    runs = {"dense": first}
    for name, model in (("dense+untuned-CE", untuned), ("dense+tuned-CE", str(result.model_dir))):
        reranker = CrossEncoderReranker(model, max_length=cfg.model.max_length, batch_size=64,
                                        show_progress=show_progress, name=name)
        runs[name] = reranker.rerank(first, test.query_texts, test.corpus, depth=depth, name=name)
    evaluator = StratifiedEvaluator(test, metrics=("ndcg@10", "recall@5"))
    evaluations = {name: evaluator.evaluate(run) for name, run in runs.items()}
    figures = {"train": {"steps": result.global_step, "best_step": result.best_step,
                         "dev_before": result.summary["before"]["metrics"], "dev_after": result.summary["after"]["metrics"],
                         "train_runtime_s": result.summary["train_runtime_s"], "queries": result.summary["data"]["queries"]},
               "test": {name: {m: e.as_dict() for m, e in ev.overall.metrics.items()} for name, ev in evaluations.items()},
               "comparisons": []}
    for treatment, baseline in (("dense+tuned-CE", "dense"), ("dense+tuned-CE", "dense+untuned-CE"),
                                ("dense+untuned-CE", "dense")):
        for c in evaluator.compare(evaluations[treatment], evaluations[baseline], metrics=("ndcg@10", "recall@5")):
            if c.dimension == "all":
                figures["comparisons"].append({**c.as_dict(), "pipeline": treatment, "versus": baseline})
    return figures


def test_scifact_tuned_reranker_beats_the_untuned_one_on_test(tmp_path):
    data = ROOT.parent / "shared" / "data" / "scifact"
    if not (data / "corpus.jsonl").is_file():
        pytest.skip(f"real data set scifact not found at {data} (see ../shared/data/README.md)")
    # Depth 30 keeps the CPU cost of reranking 300 test queries twice to about 20 minutes.
    figures = scifact_experiment(data, tmp_path, depth=30)
    print(json.dumps(figures, indent=2))
    tuned = figures["test"]["dense+tuned-CE"]["ndcg@10"]["mean"]
    untuned = figures["test"]["dense+untuned-CE"]["ndcg@10"]["mean"]
    versus_untuned = next(c for c in figures["comparisons"]
                          if c["versus"] == "dense+untuned-CE" and c["metric"] == "ndcg@10")
    assert tuned > untuned and versus_untuned["p_value"] < 0.05
    assert figures["train"]["dev_after"]["ndcg@10"] > figures["train"]["dev_before"]["ndcg@10"]
