"""A cross-encoder as a false-negative judge.

The rule compares probabilities, not raw scores. Cross-encoder logits are unbounded and often negative
(bge-reranker gives an irrelevant pair -8 and a weak positive -1), so "the negative scores at least 95%
of the positive" computed on logits flips meaning with the sign: with a positive at -2, ``0.95 * -2 =
-1.9`` would *keep* a candidate at -1.95 although the teacher prefers it to the positive. Mapping both
through a sigmoid first (softmax of the last label for two-label heads) puts every score in ``(0, 1)``,
where a fraction is well defined. The raw logits are kept as well and written out for distillation.

Scores are always taken with an identity activation and mapped here, so a model saved with a sigmoid
(or any other) activation in its config is treated the same as one without.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from rerank_fix.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

logger = logging.getLogger("rerank_fix.mine")


def to_probability(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of 1-label logits ``(n,)``, or the softmax probability of the last label for ``(n, 2+)``.

    Example:
        >>> to_probability(np.array([0.0])).tolist()
        [0.5]
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 1:
        return 1.0 / (1.0 + np.exp(-logits))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp[:, -1] / exp.sum(axis=1)


def teacher_rejects(candidate_prob: np.ndarray | float, positive_prob: np.ndarray | float,
                    fraction: float) -> np.ndarray:
    """True where the candidate's probability is at least ``fraction`` of the positive's: a likely positive.

    Example:
        >>> # Both logits negative: the candidate (-1.95) beats the positive (-2.0) and must be rejected,
        >>> # although on raw logits -1.95 < 0.95 * -2.0.
        >>> bool(teacher_rejects(to_probability(np.array([-1.95])), to_probability(np.array([-2.0])), 0.95)[0])
        True
    """
    return np.asarray(candidate_prob) >= fraction * np.asarray(positive_prob)


class TeacherScorer:
    """Batched cross-encoder scoring that returns raw logits and probabilities.

    Args:
        model: Hub id, local path, a loaded ``CrossEncoder``, or a ``CrossEncoderReranker`` (its model is used).
        max_length: Token limit of a (query, document) pair.
        batch_size: Pairs per forward pass.
        device: Torch device; ``None`` picks automatically.
        trust_remote_code: Allow model code from the hub.
        show_progress: Progress bar while scoring.

    Example:
        >>> teacher = TeacherScorer("BAAI/bge-reranker-v2-m3", max_length=512)  # doctest: +SKIP
        >>> logits = teacher.logits([("vitamin d and bone density", "Vitamin D supplements ...")])  # doctest: +SKIP
        >>> to_probability(logits)  # doctest: +SKIP
    """

    def __init__(self, model: "str | CrossEncoder | Any", max_length: int | None = 512, batch_size: int = 32,
                 device: str | None = None, trust_remote_code: bool = False, show_progress: bool = False) -> None:
        from rerank_fix.rerank.base import Reranker

        inner = getattr(model, "model", None) if type(model).__name__ == "CrossEncoderReranker" else None
        # Any other reranker (ONNX, HTTP ...) is scored through the Reranker interface; its scores are
        # taken as logits (a one-label relevance score).
        self._reranker = model if isinstance(model, Reranker) and inner is None else None
        self._spec = model if isinstance(model, str) else None
        self._model = inner if inner is not None else (None if isinstance(model, str) or self._reranker else model)
        if self._model is None and self._spec is None and self._reranker is None:
            raise ConfigError("teacher must be a model id, a path, a loaded CrossEncoder or a Reranker")
        self.max_length, self.batch_size, self.device = max_length, batch_size, device
        self.trust_remote_code, self.show_progress = trust_remote_code, show_progress
        self.scored_pairs = 0

    @property
    def name(self) -> str:
        return self._spec or getattr(self._reranker, "name", None) or type(self._model).__name__

    @property
    def model(self) -> "CrossEncoder":
        if self._model is None:
            from rerank_fix.models import load_cross_encoder, resolve_model

            if resolve_model(self._spec) == resolve_model(None):
                logger.warning("the teacher %r is the bundled bi-encoder with a freshly initialised head; its "
                               "scores are random until it is trained, so the teacher check means nothing",
                               self._spec)
            # num_labels=None keeps the head the checkpoint was saved with (1 or 2 labels).
            self._model = load_cross_encoder(
                self._spec, num_labels=None, max_length=self.max_length,  # type: ignore[arg-type]
                device=self.device, trust_remote_code=self.trust_remote_code)
        return self._model

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Raw scores, ``(n,)`` for a one-label head or ``(n, labels)`` otherwise."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        if self._reranker is not None:
            self.scored_pairs += len(pairs)
            return np.asarray(self._reranker.score(list(pairs)), dtype=np.float32).reshape(len(pairs))
        import torch

        out = self.model.predict([list(p) for p in pairs], batch_size=self.batch_size,
                                 show_progress_bar=self.show_progress and len(pairs) > self.batch_size,
                                 activation_fn=torch.nn.Identity(), convert_to_numpy=True)
        self.scored_pairs += len(pairs)
        out = np.asarray(out, dtype=np.float32)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim == 2 and out.shape[1] > 2:
            raise ConfigError(f"teacher {self.name!r} has {out.shape[1]} output labels; a relevance teacher needs "
                              "1 (a relevance logit) or 2 (not relevant / relevant)")
        return out

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """``(logits, probabilities)``, one of each per pair.

        For a two-label head the logit reported is the log-odds ``l1 - l0``, whose sigmoid is the softmax
        probability of "relevant": the same scale as a one-label head.
        """
        raw = self.logits(pairs)
        prob = to_probability(raw)
        return (raw[:, -1] - raw[:, 0] if raw.ndim == 2 else raw), prob


def make_teacher(spec: Any, config: Any) -> TeacherScorer:
    """A :class:`TeacherScorer` from a scorer, a loaded model, or a model id/path with ``config.teacher_backend``.

    ``torch`` (the default backend) loads a sentence-transformers CrossEncoder and reads raw logits; any
    other registered backend (``rerank_fix.rerank.SCORERS``) is built with the model id and scored through
    the :class:`~rerank_fix.rerank.base.Reranker` interface.

    Example:
        >>> make_teacher("BAAI/bge-reranker-v2-m3", MineConfig())  # doctest: +SKIP
    """
    if isinstance(spec, TeacherScorer):
        return spec
    kwargs = dict(max_length=config.teacher_max_length, batch_size=config.teacher_batch_size, device=config.device)
    if isinstance(spec, str) and config.teacher_backend != "torch":
        from rerank_fix.rerank.base import SCORERS

        backend = SCORERS.get(config.teacher_backend)
        return TeacherScorer(backend(spec), **kwargs)
    return TeacherScorer(spec, **kwargs)
