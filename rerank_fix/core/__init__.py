"""Core types every layer imports downward: documents, queries, evaluation sets (qrels) and runs.

    >>> from rerank_fix.core import Run
    >>> Run.from_scores("bm25", {"q1": {"d1": 1.0, "d2": 2.0}}).ranked_ids("q1")
    ['d2', 'd1']
"""
from __future__ import annotations

from rerank_fix.core.run import Ranking, Run, sort_ranking
from rerank_fix.core.types import Document, EvalSet, Qrels, Query

__all__ = ["Document", "EvalSet", "Qrels", "Query", "Ranking", "Run", "sort_ranking"]
