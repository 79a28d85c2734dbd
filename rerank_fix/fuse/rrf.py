"""Reciprocal rank fusion, plain and weighted."""
from __future__ import annotations

from typing import Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.core.run import Run


def reciprocal_rank_fusion(runs: Sequence[Run], k: float = 60.0, weights: Sequence[float] | None = None,
                           depth: int | None = None, name: str | None = None) -> Run:
    """Fuse runs by ``score(d) = sum_i w_i / (k + rank_i(d))`` with 1-based ranks.

    Args:
        runs: Runs over the same queries; a query missing from a run just gets nothing from it.
        k: Damping constant; 60 is the value of the original paper and ranx's default.
        weights: One weight per run (weighted RRF); ``None`` means all 1.
        depth: Only the top ``depth`` of each run take part; ``None`` uses all.
        name: Name of the fused run.

    Example:
        >>> a = Run.from_scores("a", {"q": {"x": 3, "y": 2}})
        >>> b = Run.from_scores("b", {"q": {"y": 9, "z": 1}})
        >>> reciprocal_rank_fusion([a, b]).ranked_ids("q")
        ['y', 'x', 'z']

    References:
        Cormack, Clarke & Büttcher (2009), Reciprocal Rank Fusion outperforms Condorcet and individual
        rank learning methods.
    """
    if not runs:
        raise ConfigError("RRF needs at least one run")
    if weights is None:
        weights = [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ConfigError(f"RRF got {len(weights)} weights for {len(runs)} runs; give one weight per run")
    if any(w < 0 for w in weights):
        raise ConfigError("RRF weights must be >= 0")
    if k < 0:
        raise ConfigError("RRF k must be >= 0")
    fused: dict[str, dict[str, float]] = {}
    for run, weight in zip(runs, weights):
        for qid, items in run.results.items():
            scores = fused.setdefault(qid, {})
            for rank, (doc_id, _) in enumerate(items[:depth] if depth else items, start=1):
                scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return Run.from_scores(name or "rrf(" + ",".join(r.name for r in runs) + ")", fused)
