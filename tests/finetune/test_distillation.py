"""Training from teacher scores: FlagEmbedding's pos_scores/neg_scores, MarginMSE and ListNet."""
from __future__ import annotations

import json

import pytest
import torch

from rerank_fix.errors import ConfigError, DataError
from rerank_fix.finetune.config import LossConfig
from rerank_fix.finetune.data import GroupSampler, build_train_dataset, read_triples


def _scored_triples(source, path, with_scores=True):
    """The tiny triples with made-up teacher logits: the positive high, negatives falling with their rank."""
    lines = []
    for line in source.read_text().splitlines():
        row = json.loads(line)
        if with_scores:
            row["pos_scores"] = [6.0]
            row["neg_scores"] = [2.0 - 0.5 * i for i in range(len(row["neg"]))]
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_groups_carry_the_teacher_scores_of_the_drawn_documents(triples, tmp_path):
    data = read_triples(_scored_triples(triples, tmp_path / "t.jsonl"))
    ds = build_train_dataset(data, GroupSampler(4, seed=3, teacher_scores=True))
    row = ds[0]
    by_text = dict(zip(data[0].neg, data[0].neg_scores))
    assert row["labels"][0] == 6.0
    assert row["labels"][1:] == [by_text[d] for d in row["docs"][1:]]
    # Binary labels for the same draw when the loss does not distil.
    plain = build_train_dataset(data, GroupSampler(4, seed=3))[0]
    assert plain["docs"] == row["docs"] and plain["labels"] == [1, 0, 0, 0]


def test_scores_must_match_their_documents(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"query": "q", "pos": ["p"], "neg": ["a", "b"], "pos_scores": [1.0],
                                "neg_scores": [0.5]}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:1: field 'neg_scores'.*one per entry"):
        read_triples(path)


def test_distillation_without_scores_is_one_clear_error(triples, tmp_path):
    data = read_triples(triples)
    with pytest.raises(DataError, match="no teacher scores"):
        build_train_dataset(data, GroupSampler(4, seed=0, teacher_scores=True))
    with pytest.raises(ConfigError, match="group_ce trains on binary labels"):
        from rerank_fix.finetune.config import parse_config

        parse_config({"data": {"triples": "t"}, "loss": {"name": "group_ce", "labels": "teacher"}})


@pytest.mark.parametrize("name", ["margin_mse", "listnet"])
def test_distillation_losses_match_their_definition(name, triples, tmp_path):
    from rerank_fix.finetune.config import ModelConfig
    from rerank_fix.finetune.losses import build_loss
    from rerank_fix.finetune.modeling import load_model

    data = read_triples(_scored_triples(triples, tmp_path / "t.jsonl"))
    batch = build_train_dataset(data, GroupSampler(4, seed=0, teacher_scores=True))[:3]
    model, _ = load_model(ModelConfig(name_or_path="bundled", max_length=64), seed=0)
    model.eval()  # no dropout: the loss and the reference see the same scores
    cfg = LossConfig(name=name, labels="teacher", teacher_temperature=2.0)
    loss = build_loss(cfg, model, 4)
    with torch.no_grad():
        value = float(loss([batch["query"], batch["docs"]], [torch.tensor(x) for x in batch["labels"]]))
    pairs = [(q, d) for q, ds in zip(batch["query"], batch["docs"]) for d in ds]
    student = torch.as_tensor(model.predict(pairs, activation_fn=torch.nn.Identity(), convert_to_numpy=True)).view(3, 4)
    teacher = torch.tensor(batch["labels"])
    if name == "margin_mse":
        expected = torch.mean(((student[:, :1] - student[:, 1:]) - (teacher[:, :1] - teacher[:, 1:])) ** 2)
    else:
        expected = -(torch.softmax(teacher / 2.0, 1) * torch.log_softmax(student, 1)).sum(1).mean()
    assert value == pytest.approx(float(expected), rel=1e-3, abs=1e-4)


def test_a_margin_mse_run_trains_from_the_files_scores(make_config, triples, tmp_path):
    from rerank_fix.finetune.config import load_config
    from rerank_fix.finetune.trainer import run_finetune

    scored = _scored_triples(triples, tmp_path / "scored.jsonl")
    path = make_config(out=tmp_path / "run", data={"triples": str(scored)}, loss={"name": "margin_mse"},
                       train={"max_steps": 2, "epochs": 1}, eval={"enabled": False})
    result = run_finetune(load_config(path), show_progress=False)
    assert result.global_step == 2
    assert (result.run_dir / "final").is_dir()
