"""Per-query ranking metrics: recall@k, nDCG@k, MRR@k.

Definitions follow trec_eval (linear gains, log2 discount, relevance = grade > 0), so the figures
equal pytrec_eval's and ranx's on the same run; the tests check it.
"""
from __future__ import annotations

import math
import re
from typing import Callable, Iterable, Mapping, Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.core.run import Run

DEFAULT_METRICS = ("recall@5", "recall@10", "recall@50", "recall@100", "ndcg@10", "mrr@10")
_NAME = re.compile(r"^(recall|ndcg|mrr|precision)@(\d+)$")


def recall_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return sum(1 for d in ranked[:k] if d in relevant) / len(relevant)


def precision_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    return sum(1 for d in ranked[:k] if judged.get(d, 0) > 0) / k


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    dcg = sum(judged.get(d, 0) / math.log2(rank + 2) for rank, d in enumerate(ranked[:k]) if judged.get(d, 0) > 0)
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    for rank, d in enumerate(ranked[:k], start=1):
        if judged.get(d, 0) > 0:
            return 1.0 / rank
    return 0.0


_FUNCTIONS: dict[str, Callable[[Sequence[str], Mapping[str, int], int], float]] = {
    "recall": recall_at_k, "ndcg": ndcg_at_k, "mrr": mrr_at_k, "precision": precision_at_k,
}


def parse_metric(name: str) -> tuple[str, int]:
    match = _NAME.match(name.strip().lower())
    if not match or int(match.group(2)) < 1:
        raise ConfigError(f"unknown metric {name!r}; use recall@K, ndcg@K, mrr@K or precision@K (K >= 1)")
    return match.group(1), int(match.group(2))


def per_query(run: Run, qrels: Mapping[str, Mapping[str, int]],
              metrics: Iterable[str] = DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """Score every judged query: ``metric -> query_id -> value``.

    Queries in ``qrels`` that the run does not contain score 0 (a retriever that returns nothing
    has failed them); queries the run has but ``qrels`` lacks are ignored.

    Example:
        >>> run = Run.from_scores("r", {"q": {"a": 2.0, "b": 1.0}})
        >>> per_query(run, {"q": {"b": 1}}, ["mrr@10"])
        {'mrr@10': {'q': 0.5}}
    """
    parsed = [(m, *parse_metric(m)) for m in metrics]
    ranked = {qid: run.ranked_ids(qid) for qid in qrels}
    return {name: {qid: _FUNCTIONS[kind](ranked[qid], judged, k) for qid, judged in qrels.items()}
            for name, kind, k in parsed}


def mean_scores(scores: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    return {m: (sum(v.values()) / len(v) if v else float("nan")) for m, v in scores.items()}
