"""Training end to end on the bundled MiniLM: logs, selection, curve, resume after SIGKILL, bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rerank_fix.cli import main
from rerank_fix.errors import UserInputError
from rerank_fix.finetune.checkpoint import STATE_FILE, checkpoints, is_complete, read_log

ROOT = Path(__file__).resolve().parents[2]


def _steps(path: Path) -> list[int]:
    return [r["step"] for r in read_log(path)]


def test_training_run_writes_everything(trained_run):
    run = trained_run.run_dir
    # 36 triples, 6 per batch -> 6 steps an epoch, 2 epochs.
    assert trained_run.global_step == 12
    assert _steps(run / "loss_log.jsonl") == list(range(1, 13))
    evals = read_log(run / "eval_log.jsonl")
    assert [e["step"] for e in evals] == [0, 6, 12] and [e["epoch"] for e in evals] == [0.0, 1.0, 2.0]
    assert {s["dimension"] for s in evals[0]["strata"]} >= {"all", "length"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["before"]["step"] == 0 and summary["after"]["step"] == trained_run.best_step
    # Mined negatives teach the fresh head to rank: the selected model beats the starting one on dev.
    assert summary["after"]["metrics"]["ndcg@10"] > summary["before"]["metrics"]["ndcg@10"]
    assert trained_run.best_metric == max(e["metrics"]["ndcg@10"] for e in evals)
    assert (run / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stats = json.loads((run / "data_stats.json").read_text())
    assert stats["queries"] == 36 and stats["dev"]["dev_queries"] == 12 and stats["dev"]["test_queries_checked"] == 12
    for _, ckpt in checkpoints(run / "checkpoints"):
        assert is_complete(ckpt) and json.loads((ckpt / STATE_FILE).read_text())["global_step"] == int(ckpt.name[11:])


def test_selected_model_loads_as_a_cross_encoder_and_scores_like_the_dev_log(trained_run):
    from sentence_transformers import CrossEncoder

    from rerank_fix.data import load_eval_set
    from rerank_fix.evaluate.metrics import mean_scores, per_query
    from rerank_fix.rerank.cross_encoder import CrossEncoderReranker
    from rerank_fix.retrieve.bm25 import BM25Retriever

    model = CrossEncoder(str(trained_run.model_dir))
    cfg = yaml.safe_load((trained_run.run_dir / "config.yaml").read_text())
    dev = load_eval_set(cfg["eval"]["data"], "dev")
    bm25 = BM25Retriever()
    bm25.index(dev.corpus)
    run = CrossEncoderReranker(model, max_length=64, show_progress=False).rerank(
        bm25.search(dev.query_texts, k=10), dev.query_texts, dev.corpus, depth=10)
    ndcg = mean_scores(per_query(run, dev.qrels, ["ndcg@10"]))["ndcg@10"]
    assert ndcg == pytest.approx(trained_run.best_metric, abs=1e-6)


def test_an_existing_run_is_not_overwritten(trained_run):
    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    raw = yaml.safe_load((trained_run.run_dir / "config.yaml").read_text())
    with pytest.raises(UserInputError, match="already holds a training run; pass --resume"):
        run_finetune(parse_config(raw), show_progress=False)


def test_resume_refuses_a_changed_config(trained_run):
    from rerank_fix.errors import ConfigError
    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    raw = yaml.safe_load((trained_run.run_dir / "config.yaml").read_text())
    raw["train"]["learning_rate"] = 1e-5
    with pytest.raises(ConfigError, match="train.learning_rate"):
        run_finetune(parse_config(raw), resume=True, show_progress=False)


def _run_cli(config: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "rerank_fix.finetune", str(config), "--no-progress", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_sigkill_mid_run_then_resume_matches_an_uninterrupted_run(trained_run, collection, triples, tmp_path):
    from finetune_helpers import tiny_config

    out = tmp_path / "killed"
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(collection, out, triples)), encoding="utf-8")
    proc = _run_cli(config)
    log = out / "loss_log.jsonl"
    deadline = time.time() + 300
    # Kill inside the second epoch (steps 7-12), once checkpoint-8 is complete and steps ran past it.
    while time.time() < deadline:
        steps = _steps(log) if log.exists() else []
        done = [s for s, p in checkpoints(out / "checkpoints") if is_complete(p)]
        if done and max(done) >= 8 and steps and steps[-1] > max(done):
            break
        assert proc.poll() is None, "the run finished before it could be killed:\n" + proc.stdout.read()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _steps(log)[-1]
    assert killed_at < 12

    resumed = _run_cli(config, "--resume")
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert "resuming from checkpoint-" in output
    # Same final step count, every step logged exactly once, and the very same losses as without the kill.
    assert _steps(log) == list(range(1, 13))
    reference = read_log(trained_run.run_dir / "loss_log.jsonl")
    for mine, ref in zip(read_log(log), reference):
        assert mine["loss"] == pytest.approx(ref["loss"], abs=1e-6), mine["step"]
    assert [e["step"] for e in read_log(out / "eval_log.jsonl")] == [0, 6, 12]
    assert json.loads((out / "summary.json").read_text())["global_step"] == 12


def test_early_stopping_stops_after_patience(make_config, tmp_path):
    from rerank_fix.finetune.config import load_config
    from rerank_fix.finetune.trainer import run_finetune

    # A learning rate this low cannot move the dev metric: every evaluation fails to improve.
    config = make_config(train={"learning_rate": 1e-9, "epochs": 5, "max_steps": 12, "per_device_batch_size": 12,
                                "save_steps": 100},
                         eval={"strategy": "steps", "steps": 3, "early_stopping_patience": 2})
    result = run_finetune(load_config(config), show_progress=False)
    evals = read_log(result.run_dir / "eval_log.jsonl")
    assert result.summary["stopped_early"] and result.global_step == 6
    assert [e["step"] for e in evals] == [0, 3, 6] and result.best_step in (0, 3, 6)


def test_without_evaluation_the_final_model_is_saved(make_config):
    from sentence_transformers import CrossEncoder

    from rerank_fix.finetune.config import load_config
    from rerank_fix.finetune.trainer import run_finetune

    config = make_config(eval={"enabled": False}, train={"max_steps": 3, "save_steps": 100}, loss={"name": "lambda"})
    result = run_finetune(load_config(config), show_progress=False)
    assert result.model_dir.name == "final" and result.global_step == 3 and result.best_step is None
    assert _steps(result.run_dir / "loss_log.jsonl") == [1, 2, 3]
    assert CrossEncoder(str(result.model_dir)).predict([("q", "d")]).shape == (1,)


@pytest.mark.parametrize("section, value, message", [
    ("data", {"triples": "/nonexistent/triples.jsonl"}, "triples file not found"),
    ("data", {"group_size": 9}, "data.group_size=9 needs 8 negatives"),
    ("loss", {"name": "softmax"}, "unknown loss 'softmax'"),
])
def test_bad_input_is_a_message_not_a_traceback(make_config, capsys, section, value, message):
    config = make_config(**{section: value})
    assert main(["finetune", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_dry_run_of_the_tiny_config_trains_nothing(make_config, tmp_path, capsys):
    config = make_config(out=tmp_path / "dry")
    assert main(["finetune", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "22,713,601" in out and "nothing is trained" in out and "tokens per step" in out
    assert "measured pairs" in out and not (tmp_path / "dry").exists()
