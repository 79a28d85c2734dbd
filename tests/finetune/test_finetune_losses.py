"""The losses on the real bundled MiniLM cross-encoder, checked against sentence-transformers' own."""
from __future__ import annotations

import pytest
import torch

from rerank_fix.finetune.config import LossConfig
from rerank_fix.finetune.losses import GroupedBinaryCrossEntropyLoss, GroupSoftmaxCrossEntropyLoss, build_loss

QUERIES = ["rotate an api key", "refund for an annual plan"]
DOCS = [
    ["API keys are rotated from the developer console.", "Dark mode is under appearance.",
     "Invoices are under billing history."],
    ["Annual plans are refunded pro rata within 30 days.", "Webhooks retry for 24 hours.",
     "Invite teammates from the members page."],
]
LABELS = [torch.tensor([1, 0, 0]), torch.tensor([1, 0, 0])]


@pytest.fixture(scope="module")
def model():
    from rerank_fix.finetune.config import ModelConfig
    from rerank_fix.finetune.modeling import load_model

    model, _ = load_model(ModelConfig(name_or_path="bundled", max_length=64), seed=0)
    model.eval()  # no dropout: two computations of the same loss must agree exactly
    return model


def _logits(model):
    with torch.no_grad():
        pairs = [[q, d] for q, docs in zip(QUERIES, DOCS) for d in docs]
        return torch.as_tensor(model.predict(pairs, activation_fn=torch.nn.Identity())).view(2, 3)


def test_group_softmax_equals_sentence_transformers_mnrl_without_in_batch_negatives(model):
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    ours = GroupSoftmaxCrossEntropyLoss(model)([QUERIES, DOCS], LABELS)
    library = MultipleNegativesRankingLoss(model, num_negatives=None, scale=1.0, activation_fn=torch.nn.Identity())
    # One query per call: the library loss then has no in-batch negatives, only the group's own.
    reference = torch.stack([library([[q]] + [[d] for d in docs], None) for q, docs in zip(QUERIES, DOCS)]).mean()
    assert torch.allclose(ours, reference, atol=1e-5)
    by_hand = torch.nn.functional.cross_entropy(_logits(model), torch.zeros(2, dtype=torch.long))
    assert torch.allclose(ours, by_hand, atol=1e-5)
    # Chunked scoring gives the same loss.
    chunked = GroupSoftmaxCrossEntropyLoss(model, mini_batch_size=2)([QUERIES, DOCS], LABELS)
    assert torch.allclose(ours, chunked, atol=1e-5)


def test_group_softmax_finds_the_positive_wherever_it_is(model):
    moved = [[docs[1], docs[0], docs[2]] for docs in DOCS]
    labels = [torch.tensor([0, 1, 0])] * 2
    assert torch.allclose(GroupSoftmaxCrossEntropyLoss(model)([QUERIES, moved], labels),
                          GroupSoftmaxCrossEntropyLoss(model)([QUERIES, DOCS], LABELS), atol=1e-5)


def test_grouped_bce_is_the_library_bce_on_flattened_pairs(model):
    loss = GroupedBinaryCrossEntropyLoss(model, pos_weight=2.0)([QUERIES, DOCS], LABELS)
    logits = _logits(model).view(-1)
    target = torch.cat(LABELS).float()
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(2.0))
    assert torch.allclose(loss, expected, atol=1e-5)


@pytest.mark.parametrize("name, cls", [("group_ce", "GroupSoftmaxCrossEntropyLoss"), ("bce", "GroupedBinaryCrossEntropyLoss"),
                                       ("lambda", "LambdaLoss"), ("listnet", "ListNetLoss")])
def test_every_configured_loss_trains(model, name, cls):
    loss = build_loss(LossConfig(name=name, bce_pos_weight="auto"), model, group_size=3)
    assert type(loss).__name__ == cls
    model.zero_grad()
    value = loss([QUERIES, DOCS], LABELS)
    value.backward()
    assert torch.isfinite(value) and value.item() > 0
    grad = model.model.classifier.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    model.zero_grad()
    if name == "bce":
        assert loss.inner.pos_weight.item() == 2.0  # "auto" = group_size - 1
