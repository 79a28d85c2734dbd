"""A reranker ready for live queries: the model(s), the routing policy, and the ordering rules."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from rerank_fix.deploy.policy import Action, ServingPolicy
from rerank_fix.errors import ConfigError, UserInputError


@dataclass(frozen=True)
class Decision:
    """What one query gets: its stratum label and the action that applies."""

    label: str | None
    action: Action


def _min_max(values: Sequence[float]) -> list[float]:
    low, high = min(values), max(values)
    if high - low <= 0.0:
        return [0.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def _build_stratifier(config: Mapping[str, Any], base: Path) -> Any:
    kind = config.get("type")
    if kind == "typo":
        from rerank_fix.evaluate.strata import TypoStratifier

        vocab_file = config.get("vocabulary_file")
        if not vocab_file:
            raise ConfigError(f"{base}: the typo stratifier needs vocabulary_file (term TAB count) in the bundle")
        options = {k: config[k] for k in ("min_share", "max_edits", "min_term_frequency", "min_word_length")
                   if k in config}
        return TypoStratifier.from_vocabulary_file(base / vocab_file, **options)
    if kind == "labels_file":
        raise ConfigError(f"{base}: a labels_file stratifier labels known query ids and cannot route live queries")
    from rerank_fix.pipeline.routing import build_stratifier

    try:
        return build_stratifier(config)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{base}: stratifier {dict(config)!r:.200} is incomplete ({exc})") from None


class Deployment:
    """Rerank live queries as a fix bundle (or an exported model) says.

    Args:
        policy: The routing policy.
        scorers: ``reranker name -> scoring function(pairs, raw) -> np.ndarray``.
        base: Folder the deployment was loaded from (for :meth:`info` and relative files).
        describe: ``reranker name -> dict`` for :meth:`info`.

    Example:
        >>> import rerank_fix
        >>> dep = rerank_fix.load("exported/minilm")                                # doctest: +SKIP
        >>> dep.rerank("reset password", ["Dark mode is ...", "To reset your password ..."])  # doctest: +SKIP
        [(1, 0.93...), (0, 0.02...)]
    """

    def __init__(self, policy: ServingPolicy, scorers: Mapping[str, Callable[..., np.ndarray]],
                 base: Path | None = None, describe: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.policy = policy
        self.scorers = dict(scorers)
        self.base = base
        self._describe = dict(describe or {})
        self.stratifier = _build_stratifier(policy.stratifier, base or Path(".")) if policy.stratifier else None

    # ------------------------------------------------------------------ routing
    def decide(self, query: str, metadata: Mapping[str, Any] | None = None) -> Decision:
        """The stratum of ``query`` and the action for it (the policy's default when unlabelled)."""
        if self.stratifier is None:
            return Decision(None, self.policy.default)
        from rerank_fix.core.types import Query

        label = self.stratifier.assign({"q": Query("q", query, dict(metadata or {}))}).get("q")
        return Decision(label, self.policy.strata.get(str(label), self.policy.default))

    @staticmethod
    def check(query: Any, documents: Any, scores: Any = None) -> None:
        """Refuse inputs the model cannot take, with a message that says what is wrong."""
        if not isinstance(query, str):
            raise UserInputError(f"query must be a string, got {type(query).__name__}")
        if not query.strip():
            raise UserInputError("query is empty")
        if not isinstance(documents, (list, tuple)):
            raise UserInputError(f"documents must be a list of strings, got {type(documents).__name__}")
        if not documents:
            raise UserInputError("documents is empty: send at least one document")
        for i, doc in enumerate(documents):
            if not isinstance(doc, str):
                raise UserInputError(f"documents[{i}] must be a string, got {type(doc).__name__}")
        if scores is not None:
            if not isinstance(scores, (list, tuple)) or len(scores) != len(documents):
                raise UserInputError(f"scores must be a list of {len(documents)} numbers (one per document)")
            for i, s in enumerate(scores):
                if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
                    raise UserInputError(f"scores[{i}] must be a finite number")

    def pairs(self, decision: Decision, query: str, documents: Sequence[str]) -> list[tuple[str, str]]:
        """The pairs the reranker must score for this decision (none for ``keep``)."""
        if decision.action.action == "keep":
            return []
        return [(query, d) for d in documents[:decision.action.depth]]

    def order(self, decision: Decision, n: int, model_scores: np.ndarray | None,
              scores: Sequence[float] | None = None) -> list[tuple[int, float]]:
        """``(input index, score)`` best first. Stage-one scores are the request's, else 1/(rank+1)."""
        first = [float(s) for s in scores] if scores is not None else [1.0 / (i + 1) for i in range(n)]
        action = decision.action
        if action.action == "keep" or model_scores is None:
            return [(i, first[i]) for i in range(n)]
        head_n = min(action.depth, n)
        head = [float(s) for s in model_scores[:head_n]]
        if action.action == "blend":
            w = action.stage_one_weight
            head = [w * a + (1.0 - w) * b for a, b in zip(_min_max(first[:head_n]), _min_max(head))]
        ranked = sorted(range(head_n), key=lambda i: (-head[i], i))
        floor = min(head, default=0.0)
        # Documents below depth keep their stage-one order, under every reranked one.
        return [(i, head[i]) for i in ranked] + [(i, floor - 1.0 - k) for k, i in enumerate(range(head_n, n))]

    # ------------------------------------------------------------------ the one-call API
    def rerank(self, query: str, documents: Sequence[str], scores: Sequence[float] | None = None,
               metadata: Mapping[str, Any] | None = None, raw: bool = False) -> list[tuple[int, float]]:
        """Order ``documents`` for ``query`` as the policy says.

        Args:
            query: The user's query.
            documents: Stage-one candidates, best first.
            scores: Their stage-one scores (used by ``blend``); default 1/(rank+1).
            metadata: Query metadata for a metadata stratifier (e.g. ``{"segment": "code"}``).
            raw: Reranker logits instead of the model's activation (TEI ``raw_scores``).

        Returns:
            ``(input index, score)`` pairs, best first, with the score that ordered them.
        """
        self.check(query, documents, scores)
        decision = self.decide(query, metadata)
        pairs = self.pairs(decision, query, documents)
        model_scores = self.scorers[decision.action.reranker](pairs, raw) if pairs else None
        return self.order(decision, len(documents), model_scores, scores)

    def info(self) -> dict[str, Any]:
        from rerank_fix.core.version import versions

        return {"path": str(self.base) if self.base else None,
                "policy": self.policy.as_dict(),
                "rerankers": self._describe,
                "versions": versions()}


def load(path: str | Path, backend: str = "auto", batch_size: int = 32) -> Deployment:
    """A :class:`Deployment` from an exported reranker folder or a fix bundle (a folder with ``serving.json``).

    Args:
        path: The folder.
        backend: ``auto`` (ONNX when the export has one), ``torch`` or ``onnx``.
        batch_size: Pairs per forward pass.

    Raises:
        ConfigError: for a missing folder, a malformed ``serving.json`` or a model that does not load.

    Example:
        >>> import rerank_fix
        >>> rerank_fix.load("runs/fix/scifact").rerank("q", ["a", "b"], scores=[3.0, 1.0])  # doctest: +SKIP
    """
    from rerank_fix.deploy.scorer import ModelScorer

    base = Path(path)
    if not base.is_dir():
        raise ConfigError(f"{base}: no such folder; give an exported reranker (rerank-fix export) "
                          "or a fix bundle (rerank-fix fix)")
    serving = base / "serving.json"
    if serving.is_file():
        policy = ServingPolicy.load(serving)
    elif (base / "config.json").is_file():
        policy = ServingPolicy.single(".")
    else:
        raise ConfigError(f"{base}: neither a fix bundle (serving.json) nor an exported model (config.json)")
    scorers: dict[str, Callable[..., np.ndarray]] = {}
    described: dict[str, dict[str, Any]] = {}
    used = {a.reranker for a in [policy.default, *policy.strata.values()] if a.reranker}
    for name in sorted(used):
        spec = policy.rerankers[name]
        target = str(base / spec["path"]) if "path" in spec else str(spec["model"])
        scorer = ModelScorer(target, backend=backend, batch_size=batch_size)
        scorers[name] = scorer.score
        described[name] = scorer.describe()
    return Deployment(policy, scorers, base.resolve(), described)
