"""A warm start for a fresh one-logit head: fit it in closed form before the first step.

A cross-encoder grown from a bi-encoder (all-MiniLM-L6-v2 with a new classifier) starts with a head
drawn at ``initializer_range`` 0.02: its scores are near zero and near constant, the group softmax is
uniform (loss ln G) and, because the gradient reaching the encoder is scaled by that tiny head, the
encoder barely moves for the first few dozen steps. The fix here costs forward passes only:

1. take a seeded sample of training groups (query, positive, negatives);
2. run them through the frozen model once and record the input of the final one-output linear layer
   (BERT's pooled ``[CLS]``, XLM-R's ``classifier.dense`` output);
3. fit that layer by ridge regression on the features centred within each group (the ranking losses are
   shift-invariant per query) against a target: the relevance labels (``labels``) or the bi-encoder's
   cosine similarity (``bi_encoder``);
4. rescale so the within-group spread of the starting scores is ``scale`` logits.

The ridge penalty (and, for the label target, the scale) is chosen by 5-fold cross-validation over the
groups, and the statistics reported are the held-out ones: with a few hundred pairs and a 384-wide
feature, an unregularised probe separates its own training groups perfectly and says nothing.

The model then starts as a linear probe of its own features instead of at chance.

References:
    Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution"
    (LP-FT: linear probe, then fine-tune).
"""
from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder
    from torch import nn

    from rerank_fix.finetune.data import Triple

logger = logging.getLogger("rerank_fix.finetune")

HEAD_INIT_TARGETS = ("labels", "bi_encoder")


def final_linear(model: "CrossEncoder") -> "nn.Linear":
    """The last ``nn.Linear`` with one output: the layer whose weights make the relevance score."""
    from torch import nn

    found = None
    for _, module in model.model.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == 1:
            found = module
    if found is None:
        raise ValueError("the model has no one-output linear layer to initialise (is num_labels 1?)")
    return found


def head_parameter_names(model: "CrossEncoder") -> set[str]:
    """Names (as in ``model.named_parameters()``) of the classification head: what a head learning rate applies to."""
    head = {name for name, _ in model.named_parameters()
            if any(f".{part}." in f".{name}" for part in ("classifier", "score"))}
    if head:
        return head
    linear = final_linear(model)
    ids = {id(p) for p in linear.parameters()}
    return {name for name, p in model.named_parameters() if id(p) in ids}


def has_fresh_head(name_or_path: str) -> bool:
    """True when the checkpoint holds no sequence-classification head (a bi-encoder or a bare encoder)."""
    from rerank_fix.models import resolve_model

    config = Path(resolve_model(name_or_path)) / "config.json"
    if not config.is_file():
        return False  # a hub id: transformers reports missing head weights itself; keep what it loads
    archs = json.loads(config.read_text(encoding="utf-8")).get("architectures") or []
    return not any(a.endswith(("ForSequenceClassification", "ForTokenClassification")) for a in archs)


@dataclass
class HeadInit:
    """What the warm start did, for the summary and the model card.

    Args:
        target: ``labels`` or ``bi_encoder``.
        groups / pairs: How much data the probe saw.
        fit_correlation: Pearson correlation, within groups, of the held-out (cross-validated) scores with
            the target.
        positive_first: Held-out share of groups whose positive gets the top starting score.
        start_loss: Held-out group softmax cross-entropy of the starting scores (chance is ``ln G``).
        ridge / scale: The chosen penalty and within-group score spread.
        seconds: Time spent (forward passes and the fit).
    """

    target: str
    groups: int
    pairs: int
    fit_correlation: float
    positive_first: float
    start_loss: float
    chance_loss: float
    ridge: float
    scale: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def sample_groups(triples: Sequence["Triple"], queries: int, negatives: int, seed: int
                  ) -> list[tuple[str, list[str], list[int]]]:
    """``(query, [positive, negatives...], labels)`` for a seeded sample of ``queries`` triples."""
    rng = random.Random(f"{seed}:head-init")
    picks = rng.sample(range(len(triples)), min(queries, len(triples)))
    groups = []
    for i in sorted(picks):
        t = triples[i]
        negs = list(t.neg)[:negatives]
        if not negs:
            continue
        groups.append((t.query, [t.pos[0], *negs], [1] + [0] * len(negs)))
    return groups


def pair_features(model: "CrossEncoder", pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
    """Inputs of the final one-output linear layer for each pair (the model in eval mode, no gradients)."""
    import torch
    from sentence_transformers.util import batch_to_device

    linear = final_linear(model)
    captured: list[torch.Tensor] = []
    hook = linear.register_forward_pre_hook(lambda _m, args: captured.append(args[0].detach().float().cpu()))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(pairs), batch_size):
                tokens = model.preprocess([list(p) for p in pairs[start:start + batch_size]])
                model(batch_to_device(tokens, model.device))
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(captured).numpy().astype(np.float64)


def bi_encoder_targets(groups: Sequence[tuple[str, list[str], list[int]]], bi_encoder: str | None) -> np.ndarray:
    """Cosine similarity of each (query, document) pair under the bi-encoder (the bundled one for ``None``)."""
    from rerank_fix.models import load_bi_encoder

    encoder = load_bi_encoder(bi_encoder)
    queries = encoder.encode([q for q, _, _ in groups], normalize_embeddings=True, convert_to_numpy=True)
    docs = [d for _, ds, _ in groups for d in ds]
    doc_vecs = encoder.encode(docs, normalize_embeddings=True, convert_to_numpy=True)
    sims, offset = [], 0
    for qv, (_, ds, _) in zip(queries, groups):
        sims.extend((doc_vecs[offset:offset + len(ds)] @ qv).tolist())
        offset += len(ds)
    return np.asarray(sims, dtype=np.float64)


def _group_centre(values: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    out = values.copy()
    start = 0
    for n in sizes:
        out[start:start + n] -= out[start:start + n].mean(axis=0)
        start += n
    return out


def fit_probe(features: np.ndarray, target: np.ndarray, sizes: Sequence[int], ridge: float = 0.1
              ) -> tuple[np.ndarray, float]:
    """Ridge regression of the within-group target on within-group features; returns ``(w, b)``.

    ``ridge`` is relative to the mean feature variance, so it means the same for any hidden size.
    """
    x = _group_centre(features, sizes)
    y = _group_centre(target[:, None], sizes)[:, 0]
    gram = x.T @ x
    lam = ridge * np.trace(gram) / gram.shape[0]
    w = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), x.T @ y)
    b = -float((features @ w).mean())
    return w, b


def _group_stats(scores: np.ndarray, target: np.ndarray, labels: np.ndarray, sizes: Sequence[int]
                 ) -> tuple[float, float, float]:
    """(within-group correlation with the target, positive-first share, group softmax loss)."""
    sc = _group_centre(scores[:, None], sizes)[:, 0]
    tc = _group_centre(target[:, None], sizes)[:, 0]
    denom = float(np.sqrt((sc ** 2).sum() * (tc ** 2).sum()))
    corr = float((sc * tc).sum() / denom) if denom > 0 else 0.0
    first, losses, start = 0, [], 0
    for n in sizes:
        s, lab = scores[start:start + n], labels[start:start + n]
        pos = int(np.argmax(lab))
        first += int(np.argmax(s) == pos)
        m = s.max()
        losses.append(float(m + np.log(np.exp(s - m).sum()) - s[pos]))
        start += n
    return corr, first / max(1, len(sizes)), float(np.mean(losses)) if losses else 0.0


RIDGES = (0.01, 0.1, 1.0, 10.0, 100.0)
SCALES = (0.5, 1.0, 2.0, 4.0, 8.0)


def _scaled(raw: np.ndarray, sizes: Sequence[int], scale: float) -> float:
    spread = float(np.std(_group_centre(raw[:, None], sizes)[:, 0]))
    return scale / spread if spread > 0 else 1.0


def _cross_validated(features: np.ndarray, y: np.ndarray, labels: np.ndarray, sizes: Sequence[int],
                     ridges: Sequence[float], folds: int = 5) -> dict[float, np.ndarray]:
    """Held-out raw scores of every pair for each ridge penalty (folds over whole groups)."""
    starts = np.cumsum([0, *sizes])
    fold_of = np.arange(len(sizes)) % folds
    out = {r: np.zeros(len(y)) for r in ridges}
    if len(sizes) < 2:  # nothing to hold out: in-sample scores
        for r in ridges:
            w, b = fit_probe(features, y, sizes, ridge=r)
            out[r] = features @ w + b
        return out
    for f in range(min(folds, len(sizes))):
        train_g = [g for g in range(len(sizes)) if fold_of[g] != f]
        test_g = [g for g in range(len(sizes)) if fold_of[g] == f]
        tr = np.concatenate([np.arange(starts[g], starts[g + 1]) for g in train_g])
        te = np.concatenate([np.arange(starts[g], starts[g + 1]) for g in test_g])
        for r in ridges:
            w, b = fit_probe(features[tr], y[tr], [sizes[g] for g in train_g], ridge=r)
            out[r][te] = features[te] @ w + b
    return out


def warm_start_head(model: "CrossEncoder", triples: Sequence["Triple"], target: str = "labels",
                    queries: int = 64, negatives: int = 7, scale: float | None = None,
                    ridge: float | None = None, seed: int = 42, bi_encoder: str | None = None,
                    batch_size: int = 32) -> HeadInit:
    """Fit the final one-output layer of ``model`` in place as a linear probe of its own features.

    Args:
        model: A ``CrossEncoder`` with one output label (its encoder is not changed).
        triples: Training triples; a seeded sample of ``queries`` of them is used.
        target: ``labels`` (1 for the positive, 0 for the negatives) or ``bi_encoder`` (the bi-encoder's
            cosine similarity, so the starting scores track the first stage's).
        queries / negatives: Sample size: groups, and negatives per group.
        scale: Within-group standard deviation of the starting scores, in logits; ``None`` chooses it by
            cross-validated group loss for the label target (2.0 for the bi-encoder target).
        ridge: Ridge penalty relative to the mean feature variance; ``None`` chooses it by cross-validation.
        seed: Seeds the sample.
        bi_encoder: Bi-encoder for ``target="bi_encoder"`` (``None``: the bundled all-MiniLM-L6-v2).
        batch_size: Pairs per forward pass.

    Returns:
        A :class:`HeadInit` with the held-out statistics of the fit.

    Example:
        >>> info = warm_start_head(model, triples, target="labels", queries=64)  # doctest: +SKIP
        >>> info.start_loss < info.chance_loss  # doctest: +SKIP
        True
    """
    import time

    import torch

    if target not in HEAD_INIT_TARGETS:
        raise ValueError(f"unknown head-init target {target!r}; choose one of {', '.join(HEAD_INIT_TARGETS)}")
    started = time.perf_counter()
    groups = sample_groups(triples, queries, negatives, seed)
    if not groups:
        raise ValueError("no training group with a negative to fit the head on")
    sizes = [len(ds) for _, ds, _ in groups]
    pairs = [(q, d) for q, ds, _ in groups for d in ds]
    labels = np.asarray([lab for _, _, labs in groups for lab in labs], dtype=np.float64)
    features = pair_features(model, pairs, batch_size=batch_size)
    y = labels if target == "labels" else bi_encoder_targets(groups, bi_encoder)
    held_out = _cross_validated(features, y, labels, sizes, RIDGES if ridge is None else (ridge,))

    def corr(r: float) -> float:
        return _group_stats(held_out[r], y, labels, sizes)[0]

    ridge = max(held_out, key=corr)
    scales = ((scale,) if scale is not None else SCALES if target == "labels" else (2.0,))

    def cv_loss(s: float) -> float:
        return _group_stats(held_out[ridge] * _scaled(held_out[ridge], sizes, s), y, labels, sizes)[2]

    scale = min(scales, key=cv_loss)
    w, b = fit_probe(features, y, sizes, ridge=ridge)
    factor = _scaled(features @ w + b, sizes, scale)
    w, b = w * factor, b * factor
    linear = final_linear(model)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(w, dtype=linear.weight.dtype).view_as(linear.weight))
        if linear.bias is not None:
            linear.bias.fill_(b)
    cv_scores = held_out[ridge] * _scaled(held_out[ridge], sizes, scale)
    corr_cv, first, loss = _group_stats(cv_scores, y, labels, sizes)
    info = HeadInit(target, len(groups), len(pairs), corr_cv, first, loss,
                    float(np.mean([np.log(n) for n in sizes])), ridge, scale, time.perf_counter() - started)
    logger.info("head warm start (%s target, %d groups, %d pairs, %.1fs; ridge %g, scale %g): held-out group "
                "loss %.3f (chance %.3f), positive ranked first in %.0f%% of held-out groups", target, info.groups,
                info.pairs, info.seconds, ridge, scale, info.start_loss, info.chance_loss, 100 * info.positive_first)
    return info
