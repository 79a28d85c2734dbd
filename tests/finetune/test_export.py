"""Export: atomic, verified, loadable by CrossEncoder(path), documented; ONNX/int8 gated by parity."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rerank_fix.cli import main
from rerank_fix.errors import ConfigError, UserInputError
from rerank_fix.export.exporter import export_model
from rerank_fix.export.onnx import parity

PAIRS = [("rotate an api key", "API keys are rotated from the developer console."),
         ("rotate an api key", "Dark mode is a display preference.")]


def _scores(model):
    return model.predict(PAIRS, activation_fn=torch.nn.Identity())


def test_export_is_a_loadable_cross_encoder_with_a_model_card(trained_run, tmp_path):
    from sentence_transformers import CrossEncoder

    target = tmp_path / "exported"
    result = export_model(trained_run.run_dir, target)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "README.md", "export_info.json"):
        assert name in result.files
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp folder left behind
    exported = CrossEncoder(str(target))
    np.testing.assert_allclose(_scores(exported), _scores(CrossEncoder(str(trained_run.model_dir))), atol=1e-5)
    assert result.verify["max_abs_diff"] <= 1e-4 and result.verify["pairs"] > 4
    card = (target / "README.md").read_text()
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert "## Dev evaluation: before and after fine-tuning, stratified" in card
    assert "| all | all | 12 |" in card and "group_size: 4" in card and "| queries | 36 |" in card
    info = json.loads((target / "export_info.json").read_text())
    assert len(info["sha256"]) == 64 and info["parity"] == []


def test_existing_target_is_refused_unless_forced(trained_run, tmp_path, capsys):
    target = tmp_path / "exported"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(UserInputError, match="already exists; pass --force"):
        export_model(trained_run.run_dir, target)
    assert main(["export", str(trained_run.run_dir), str(target)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err
    assert (target / "keep.txt").read_text() == "mine"
    # --force replaces only a previous export: a folder holding the user's own file is refused, file kept.
    assert main(["export", str(trained_run.run_dir), str(target), "--force"]) == 2
    assert "replaces only a previous export" in capsys.readouterr().err
    assert (target / "keep.txt").read_text() == "mine"
    (target / "keep.txt").unlink()
    assert main(["export", str(trained_run.run_dir), str(target)]) == 0  # an empty folder is no loss
    assert main(["export", str(trained_run.run_dir), str(target), "--force"]) == 0
    assert (target / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported"]


def test_bad_sources_are_clear_errors(trained_run, tmp_path):
    with pytest.raises(UserInputError, match="no such run or model folder"):
        export_model(tmp_path / "nothing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="neither a finished fine-tuning run"):
        export_model(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(UserInputError, match="lies inside the source|contains the source"):
        export_model(trained_run.run_dir, trained_run.model_dir / "inside")
    # A bare model folder exports, but ONNX needs a dev split for its parity check.
    with pytest.raises(ConfigError, match="need a dev split"):
        export_model(trained_run.model_dir, tmp_path / "out", onnx=True)
    assert not (tmp_path / "out").exists()


def test_onnx_passes_the_parity_check_and_scores_like_torch(trained_run, tmp_path):
    import onnxruntime as ort
    from sentence_transformers import CrossEncoder

    target = tmp_path / "onnx-export"
    result = export_model(trained_run.run_dir, target, onnx=True)
    assert "onnx/model.onnx" in result.files and "onnx/model_qint8.onnx" not in result.files
    (check,) = result.parity
    assert check["variant"] == "onnx-fp32" and check["passed"] and check["queries"] == 12
    assert check["pearson"] > 0.9999 and check["max_abs_diff"] < 1e-3 and check["ndcg@10_drop"] == 0
    # The ONNX file scores like the torch model through plain onnxruntime, on new pairs too.
    model = CrossEncoder(str(target))
    enc = model.tokenizer([q for q, _ in PAIRS], [d for _, d in PAIRS], padding=True, return_tensors="np")
    session = ort.InferenceSession(str(target / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {i.name: enc[i.name].astype(np.int64) for i in session.get_inputs()})[0].ravel()
    np.testing.assert_allclose(logits, _scores(model), atol=1e-4)
    assert "Pearson" in (target / "README.md").read_text()


def test_int8_is_written_only_when_it_passes_the_parity_check(trained_run, tmp_path):
    from rerank_fix.export.onnx import ExportParityError

    target = tmp_path / "int8-export"
    # A barely trained model has close scores, so int8 noise can swap ranks on 12 dev queries: the gate
    # decides, and either outcome must be consistent with the figures it reports.
    try:
        result = export_model(trained_run.run_dir, target, int8=True, exporter="legacy")
    except ExportParityError as exc:
        message = str(exc)
        assert "onnx-int8-dynamic fails the parity check" in message and "Nothing was written" in message
        assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == []
        return
    (check,) = result.parity  # only the int8 file was asked for
    assert check["variant"] == "onnx-int8-dynamic" and check["passed"]
    assert check["pearson"] >= 0.99 and check["ndcg@10_drop"] <= 0.005
    assert "onnx/model_qint8.onnx" in result.files and "onnx/model.onnx" not in result.files


def test_parity_thresholds():
    ref = np.linspace(-3, 3, 50)
    assert parity("v", "f", ref, ref + 0.01, 0.8, 0.799, 10).passed
    noisy = ref + np.random.default_rng(0).normal(0, 2.0, 50)
    assert not parity("v", "f", ref, noisy, 0.8, 0.8, 10).passed
    assert not parity("v", "f", ref, ref, 0.80, 0.79, 10).passed  # nDCG@10 drop of 0.01 > 0.005


def test_card_includes_recipe_report_and_routing_policy(trained_run, tmp_path):
    from rerank_fix.pipeline.routing import RoutingPolicy, StratumEvidence

    policy = RoutingPolicy("length", {"type": "length", "upper_bounds": [4, 9]}, {"len ≤4": "dense+tuned"}, "dense",
                           ["dense", "dense+tuned"], n_train=120,
                           evidence=[StratumEvidence("len ≤4", 40, "dense+tuned", {"dense+tuned": 0.05},
                                                     {"dense+tuned": 0.01}, {"dense+tuned": 0.02})])
    policy_path = policy.save(tmp_path / "policy.json")
    report = {"eval_set": {"name": "scifact/test", "queries": 300},
              "comparisons": [{"pipeline": "dense+tuned", "dimension": "all", "stratum": "all", "metric": "ndcg@10",
                               "n": 300, "baseline": {"mean": 0.645}, "treatment": {"mean": 0.671},
                               "delta": {"mean": 0.026, "ci_low": 0.01, "ci_high": 0.04}, "p_value": 0.001,
                               "p_holm": 0.002, "verdict": "helps"}],
              "verdicts": ["dense+tuned helps overall (+0.026 nDCG@10)"]}
    report_path = tmp_path / "report.json"
    report_path.write_text(json.dumps(report))
    target = tmp_path / "card"
    export_model(trained_run.run_dir, target, report=report_path, policy=policy_path)
    card = (target / "README.md").read_text()
    assert "## Recipe report" in card and "scifact/test" in card and "+0.0260 [+0.0100, +0.0400]" in card
    assert "## Routing policy" in card and "length: len ≤4 -> dense+tuned; else dense" in card
    assert json.loads((target / "routing_policy.json").read_text())["fallback"] == "dense"
    with pytest.raises(UserInputError, match="report file not found"):
        export_model(trained_run.run_dir, tmp_path / "x", report=tmp_path / "missing.json")
