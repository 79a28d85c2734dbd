"""Training objectives over groups of (query, [positive, negative, ...]).

Every loss here takes the same batch: ``inputs = [queries, docs_per_query]`` and one label list per
query (1 for the positive, 0 for the negatives), the format of sentence-transformers' listwise losses.
LambdaLoss and ListNet are the library's own classes; with teacher scores as labels (distillation) ListNet
and MarginMSE are the library's classes fed the group's teacher scores; binary cross-entropy is the library's class fed
the flattened pairs. The group softmax loss is FlagEmbedding's objective. sentence-transformers'
``MultipleNegativesRankingLoss(scale=1, activation_fn=Identity())`` computes the same quantity for a
batch of one query, but adds in-batch negatives to larger batches and runs one forward pass per column;
here all pairs of a micro-batch are scored in one pass (the tests check the two agree).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

    from rerank_fix.finetune.config import LossConfig


def _score_pairs(model: "CrossEncoder", pairs: list[tuple[str, str]], mini_batch_size: int | None,
                 prompt: str | None, task: str | None) -> Tensor:
    from sentence_transformers.util import batch_to_device

    size = mini_batch_size or len(pairs)
    chunks = []
    for start in range(0, len(pairs), size):
        tokens = model.preprocess(pairs[start:start + size], prompt=prompt, task=task)
        tokens = batch_to_device(tokens, model.device)
        chunks.append(model(tokens)["scores"].view(-1))
    return torch.cat(chunks).float()


class GroupSoftmaxCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy of the positive against its group of mined negatives (FlagEmbedding's loss).

    For each query the scores of ``[positive, negative_1 ... negative_{G-1}]`` are treated as logits of a
    G-way classification whose answer is the positive.

    Args:
        model: A ``CrossEncoder`` with one output label.
        mini_batch_size: Pairs per forward pass; ``None`` scores the whole micro-batch at once.
        temperature: Logits are divided by this (1.0 is FlagEmbedding's setting).

    Example:
        >>> from sentence_transformers import CrossEncoder  # doctest: +SKIP
        >>> loss = GroupSoftmaxCrossEntropyLoss(CrossEncoder("bundled-path", num_labels=1))  # doctest: +SKIP
        >>> loss([["q"], [["pos", "neg1", "neg2"]]], [torch.tensor([1, 0, 0])])  # doctest: +SKIP
    """

    def __init__(self, model: "CrossEncoder", mini_batch_size: int | None = None, temperature: float = 1.0) -> None:
        super().__init__()
        if model.num_labels != 1:
            raise ValueError(f"{type(self).__name__} needs a model with one output label, got {model.num_labels}")
        self.model = model
        self.mini_batch_size = mini_batch_size
        self.temperature = temperature
        self.cross_entropy = nn.CrossEntropyLoss()

    def forward(self, inputs: list, labels: list[Tensor], prompt: str | None = None,
                task: str | None = None) -> Tensor:
        queries, docs_list = inputs
        sizes = {len(docs) for docs in docs_list}
        if len(sizes) != 1:
            raise ValueError(f"every group must have the same size, got sizes {sorted(sizes)}")
        group = sizes.pop()
        pairs = [(q, d) for q, docs in zip(queries, docs_list) for d in docs]
        logits = _score_pairs(self.model, pairs, self.mini_batch_size, prompt, task).view(len(queries), group)
        target = torch.stack([torch.as_tensor(lab).argmax() for lab in labels]).to(logits.device)
        return self.cross_entropy(logits / self.temperature, target)

    def get_config_dict(self) -> dict:
        return {"mini_batch_size": self.mini_batch_size, "temperature": self.temperature}


class _LibraryGroupLoss(nn.Module):
    """A sentence-transformers loss (``inner``) fed this module's group batches; a subclass only says, in
    :meth:`library_batch`, how a batch of groups becomes the library loss's inputs and labels."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    @property
    def model(self) -> "CrossEncoder":
        return self.inner.model

    def library_batch(self, inputs: list, labels: list[Tensor]) -> tuple[list, Any]:
        raise NotImplementedError

    def forward(self, inputs: list, labels: list[Tensor], prompt: str | None = None,
                task: str | None = None) -> Tensor:
        library_inputs, library_labels = self.library_batch(inputs, labels)
        return self.inner(library_inputs, library_labels, prompt=prompt, task=task)

    def get_config_dict(self) -> dict:
        return self.inner.get_config_dict()


class GroupedBinaryCrossEntropyLoss(_LibraryGroupLoss):
    """sentence-transformers' ``BinaryCrossEntropyLoss`` on every (query, document) pair of the groups.

    Args:
        model: A ``CrossEncoder`` with one output label.
        pos_weight: Weight of positive pairs (``None``: 1).

    Example:
        >>> loss = GroupedBinaryCrossEntropyLoss(model, pos_weight=7.0)  # doctest: +SKIP
    """

    def __init__(self, model: "CrossEncoder", pos_weight: float | None = None) -> None:
        from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

        weight = None if pos_weight is None else torch.tensor(float(pos_weight))
        super().__init__(BinaryCrossEntropyLoss(model, pos_weight=weight))

    def library_batch(self, inputs: list, labels: list[Tensor]) -> tuple[list, Tensor]:
        queries, docs_list = inputs
        flat_q = [q for q, docs in zip(queries, docs_list) for _ in docs]
        flat_d = [d for docs in docs_list for d in docs]
        flat_labels = torch.cat([torch.as_tensor(lab).view(-1) for lab in labels]).float().to(self.model.device)
        return [flat_q, flat_d], flat_labels


class GroupedMarginMSELoss(_LibraryGroupLoss):
    """sentence-transformers' ``MarginMSELoss`` on groups: MSE between the student's and the teacher's
    ``score(positive) - score(negative_i)`` margins (Hofstaetter et al. 2020).

    The labels of a group are the teacher's scores ``[positive, negative_1 ...]`` (FlagEmbedding's
    ``pos_scores``/``neg_scores``); the library turns them into margins.

    Args:
        model: A ``CrossEncoder`` with one output label.

    Example:
        >>> loss = GroupedMarginMSELoss(model)  # doctest: +SKIP
        >>> loss([["q"], [["pos", "neg"]]], [torch.tensor([6.0, -2.0])])  # doctest: +SKIP

    References:
        Hofstaetter et al. 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture
        Knowledge Distillation".
    """

    def __init__(self, model: "CrossEncoder") -> None:
        from sentence_transformers.cross_encoder.losses import MarginMSELoss

        super().__init__(MarginMSELoss(model))

    def library_batch(self, inputs: list, labels: list[Tensor]) -> tuple[list, Tensor]:
        queries, docs_list = inputs
        columns = [list(col) for col in zip(*docs_list)]
        scores = torch.stack([torch.as_tensor(lab, dtype=torch.float32) for lab in labels]).to(self.model.device)
        return [list(queries), *columns], scores


class TemperedListNetLoss(_LibraryGroupLoss):
    """sentence-transformers' ``ListNetLoss`` with the labels (teacher scores) divided by a temperature:
    the cross-entropy between ``softmax(teacher / T)`` and ``softmax(student)``, FlagEmbedding's listwise
    distillation.

    Example:
        >>> loss = TemperedListNetLoss(model, temperature=2.0)  # doctest: +SKIP
    """

    def __init__(self, model: "CrossEncoder", temperature: float = 1.0, mini_batch_size: int | None = None) -> None:
        from sentence_transformers.cross_encoder.losses import ListNetLoss

        super().__init__(ListNetLoss(model, mini_batch_size=mini_batch_size))
        self.temperature = temperature

    def library_batch(self, inputs: list, labels: list[Tensor]) -> tuple[list, list[Tensor]]:
        return inputs, [torch.as_tensor(lab, dtype=torch.float32) / self.temperature for lab in labels]

    def get_config_dict(self) -> dict:
        return {**self.inner.get_config_dict(), "temperature": self.temperature}


def build_loss(cfg: "LossConfig", model: "CrossEncoder", group_size: int) -> nn.Module:
    """The configured loss for ``model``; names are validated by the config already."""
    from sentence_transformers.cross_encoder import losses as st_losses

    if cfg.name == "group_ce":
        return GroupSoftmaxCrossEntropyLoss(model, mini_batch_size=cfg.mini_batch_size)
    if cfg.name == "bce":
        weight = float(group_size - 1) if cfg.bce_pos_weight == "auto" else cfg.bce_pos_weight
        return GroupedBinaryCrossEntropyLoss(model, pos_weight=weight)
    if cfg.name == "lambda":
        schemes = {
            "ndcg2pp": st_losses.NDCGLoss2PPScheme, "ndcg2": st_losses.NDCGLoss2Scheme,
            "ndcg1": st_losses.NDCGLoss1Scheme, "lambdarank": st_losses.LambdaRankScheme,
            "none": st_losses.NoWeightingScheme,
        }
        return st_losses.LambdaLoss(model, weighting_scheme=schemes[cfg.lambda_scheme](),
                                    mini_batch_size=cfg.mini_batch_size)
    if cfg.name == "listnet":
        if cfg.uses_teacher_scores:
            return TemperedListNetLoss(model, cfg.teacher_temperature, mini_batch_size=cfg.mini_batch_size)
        return st_losses.ListNetLoss(model, mini_batch_size=cfg.mini_batch_size)
    if cfg.name == "margin_mse":
        return GroupedMarginMSELoss(model)
    raise AssertionError(f"unvalidated loss name {cfg.name!r}")
