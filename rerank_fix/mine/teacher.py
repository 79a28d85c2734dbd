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

        from rerank_fix.rerank.cross_encoder import CrossEncoderReranker

        # Any reranker other than the torch cross-encoder (ONNX, HTTP ...) is scored through the Reranker
        # interface; its scores are taken as logits (a one-label relevance score).
        self._reranker = model if isinstance(model, Reranker) and not isinstance(model, CrossEncoderReranker) else None
        if isinstance(model, CrossEncoderReranker):
            model = model.model
        self._spec = model if isinstance(model, str) else None
        if self._reranker is None and self._spec is None and not hasattr(model, "predict"):
            raise ConfigError("teacher must be a model id, a path, a loaded CrossEncoder or a Reranker")
        # num_labels=None keeps the head the checkpoint was saved with (1 or 2 labels).
        self._scorer = None if self._reranker is not None else CrossEncoderReranker(
            model, max_length=max_length, batch_size=batch_size, device=device, trust_remote_code=trust_remote_code,
            show_progress=show_progress, num_labels=None)
        self.max_length, self.batch_size, self.device = max_length, batch_size, device
        self.trust_remote_code, self.show_progress = trust_remote_code, show_progress
        self.scored_pairs = 0

    @property
    def name(self) -> str:
        return self._spec or getattr(self._reranker, "name", None) or type(self.model).__name__

    @property
    def model(self) -> "CrossEncoder":
        assert self._scorer is not None, "a non-torch teacher has no CrossEncoder"
        if not self._scorer.is_loaded:
            from rerank_fix.models import resolve_model

            if resolve_model(self._spec) == resolve_model(None):
                logger.warning("the teacher %r is the bundled bi-encoder with a freshly initialised head; its "
                               "scores are random until it is trained, so the teacher check means nothing",
                               self._spec)
        return self._scorer.model

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Raw scores, ``(n,)`` for a one-label head or ``(n, labels)`` otherwise."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        if self._reranker is not None:
            self.scored_pairs += len(pairs)
            return np.asarray(self._reranker.score(list(pairs)), dtype=np.float32).reshape(len(pairs))
        self.model  # loaded here, so the bundled-model warning comes first
        out = self._scorer.logits(pairs)
        self.scored_pairs += len(pairs)
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
