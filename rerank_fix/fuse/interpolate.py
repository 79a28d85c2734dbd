"""Score interpolation: blend the reranker's scores with the stage-one scores it was handed.

A reranker that replaces the stage-one order throws away a signal that is often the better one: on a
domain the cross-encoder never saw, or when it is small or barely trained. Interpolating the two
(each min-max normalised per query) keeps the stage-one evidence and lets the reranker move documents
only as far as the blend allows; the weight is tuned by cross-validation (``rerank: {interpolate: tune}``).
"""
from __future__ import annotations

from rerank_fix.errors import ConfigError
from rerank_fix.core.run import Run


def _min_max(scores: list[float]) -> list[float]:
    low, high = min(scores), max(scores)
    if high - low <= 0.0:
        # All tied: no preference, so every document gets the same normalised score.
        return [0.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def interpolate_scores(first_stage: Run, reranked: Run, weight: float, depth: int, name: str | None = None) -> Run:
    """Rank the top ``depth`` of each query by ``weight * first + (1 - weight) * reranker``.

    Both scores are min-max normalised over the query's top ``depth`` first; documents below ``depth``
    keep their stage-one order, under every blended one. ``weight=0`` is the reranker's order and
    ``weight=1`` the stage-one order. Neither input run is modified.

    Args:
        first_stage: The run the reranker reordered (its scores are the stage-one scores).
        reranked: The reranker's run over the same queries (its top ``depth`` carry reranker scores).
        weight: Share of the stage-one score, in [0, 1].
        depth: How many stage-one documents the reranker scored.
        name: Name of the blended run.

    Example:
        >>> first = Run.from_scores("dense", {"q": {"a": 0.9, "b": 0.8, "c": 0.1}})
        >>> ce = Run.from_scores("ce", {"q": {"c": 5.0, "b": 4.0, "a": 0.0}})
        >>> interpolate_scores(first, ce, 0.7, depth=3).ranked_ids("q")
        ['b', 'a', 'c']

    References:
        Wang, Zhuang & Zuccon (2021), BERT-based Dense Retrievers Require Interpolation with BM25 for
        Effective Passage Retrieval (ICTIR). Pradeep et al. (2022), Squeezing Water from a Stone: A Bag of
        Tricks for Further Improving Cross-Encoder Effectiveness for Reranking (ECIR).
    """
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"interpolation weight must be between 0 and 1, got {weight}")
    if depth < 1:
        raise ConfigError(f"interpolation depth must be >= 1, got {depth}")
    results: dict[str, list[tuple[str, float]]] = {}
    for qid, items in first_stage.results.items():
        head = items[:depth]
        reranker_scores = dict(reranked.results.get(qid, []))
        if not head or any(doc_id not in reranker_scores for doc_id, _ in head):
            # The reranker did not score this query's candidates: keep the stage-one ranking.
            results[qid] = list(items)
            continue
        first_norm = _min_max([score for _, score in head])
        rerank_norm = _min_max([reranker_scores[doc_id] for doc_id, _ in head])
        blended = [(doc_id, weight * f + (1.0 - weight) * r)
                   for (doc_id, _), f, r in zip(head, first_norm, rerank_norm)]
        floor = min(score for _, score in blended)
        results[qid] = blended + [(doc_id, floor - 1.0 - i) for i, (doc_id, _) in enumerate(items[depth:])]
    return Run(name or f"{reranked.name}~{weight:g}", results)
