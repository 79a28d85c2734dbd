"""The closed-form warm start of a fresh head: real MiniLM, the tiny collection's triples."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rerank_fix.finetune.config import ModelConfig
from rerank_fix.finetune.data import read_triples
from rerank_fix.finetune.head_init import (final_linear, has_fresh_head, head_parameter_names, sample_groups,
                                           warm_start_head)
from rerank_fix.finetune.modeling import load_model, split_head_learning_rate


def _within_group_corr(a: np.ndarray, b: np.ndarray, size: int) -> float:
    a = a.reshape(-1, size) - a.reshape(-1, size).mean(axis=1, keepdims=True)
    b = b.reshape(-1, size) - b.reshape(-1, size).mean(axis=1, keepdims=True)
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))


@pytest.fixture
def fresh_model():
    model, _ = load_model(ModelConfig(name_or_path="bundled", max_length=64), seed=7)
    return model


def test_bundled_bi_encoder_has_a_fresh_head(tmp_path, fresh_model):
    assert has_fresh_head("bundled")
    fresh_model.save_pretrained(str(tmp_path / "ce"))
    assert not has_fresh_head(str(tmp_path / "ce"))


def test_bi_encoder_target_makes_step_zero_scores_track_the_bi_encoder(fresh_model, triples, bi_encoder):
    data = read_triples(triples)
    before = final_linear(fresh_model).weight.detach().clone()
    info = warm_start_head(fresh_model, data, target="bi_encoder", queries=20, negatives=3, seed=1)
    assert not torch.equal(before, final_linear(fresh_model).weight)
    # The model's own predictions (not the fit's bookkeeping) on the fitted groups, against the bi-encoder.
    groups = sample_groups(data, 20, 3, seed=1)
    pairs = [(q, d) for q, ds, _ in groups for d in ds]
    scores = fresh_model.predict(pairs, activation_fn=torch.nn.Identity(), convert_to_numpy=True)
    q_vec = bi_encoder.encode([q for q, _ in pairs], normalize_embeddings=True)
    d_vec = bi_encoder.encode([d for _, d in pairs], normalize_embeddings=True)
    cosine = (q_vec * d_vec).sum(axis=1)
    assert _within_group_corr(np.asarray(scores), cosine, 4) > 0.5
    assert info.fit_correlation > 0.5
    # The scores are spread as asked (within-group std ~ scale), not near-constant like a fresh head's.
    spread = np.asarray(scores).reshape(-1, 4).std(axis=1).mean()
    assert 0.5 < spread < 6


def test_label_target_starts_below_chance_on_groups_it_was_not_fitted_on(fresh_model, triples):
    data = read_triples(triples)
    fitted = sample_groups(data, 20, 3, seed=0)
    fitted_queries = {q for q, _, _ in fitted}
    unseen = [g for g in sample_groups(data, len(data), 3, seed=0) if g[0] not in fitted_queries]
    assert len(unseen) >= 10
    pairs = [(q, d) for q, ds, _ in unseen for d in ds]

    def group_loss() -> float:
        s = torch.as_tensor(fresh_model.predict(pairs, activation_fn=torch.nn.Identity(), convert_to_numpy=True))
        return float(torch.nn.functional.cross_entropy(s.view(-1, 4), torch.zeros(len(unseen), dtype=torch.long)))

    fresh = group_loss()
    assert abs(fresh - math.log(4)) < 0.05  # a fresh head sits at chance
    info = warm_start_head(fresh_model, data, target="labels", queries=20, negatives=3, seed=0)
    assert info.start_loss < info.chance_loss  # the cross-validated estimate
    assert group_loss() < fresh - 0.2  # and on queries the probe never saw


def test_head_learning_rate_gets_its_own_group(fresh_model):
    names = head_parameter_names(fresh_model)
    assert names and all("classifier" in n for n in names)
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in fresh_model.named_parameters() if "bias" not in n], "weight_decay": 0.01},
        {"params": [p for n, p in fresh_model.named_parameters() if "bias" in n], "weight_decay": 0.0}], lr=1e-5)
    moved = split_head_learning_rate(optimizer, fresh_model, 1e-3)
    assert moved == sum(p.numel() for n, p in fresh_model.named_parameters() if n in names)
    head_groups = [g for g in optimizer.param_groups if g["lr"] == 1e-3]
    assert {g["weight_decay"] for g in head_groups} == {0.01, 0.0}
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(fresh_model.parameters()))


def test_finetune_warm_start_is_recorded_and_can_be_off(make_config, tmp_path):
    from rerank_fix.finetune.config import load_config
    from rerank_fix.finetune.trainer import run_finetune

    path = make_config(out=tmp_path / "warm", model={"head_init": "auto"},
                       train={"max_steps": 2, "epochs": 1, "head_learning_rate": 1e-3}, eval={"enabled": False})
    result = run_finetune(load_config(path), show_progress=False)
    head = result.summary["head_init"]
    assert head["target"] == "labels" and head["start_loss"] < head["chance_loss"]
    path = make_config("none.yaml", out=tmp_path / "cold", model={"head_init": "none"},
                       train={"max_steps": 1, "epochs": 1}, eval={"enabled": False})
    assert run_finetune(load_config(path), show_progress=False).summary["head_init"] is None
