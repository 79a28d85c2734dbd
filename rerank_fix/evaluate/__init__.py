"""Evaluation: per-query metrics, statistics, strata and the stratified evaluator."""
from __future__ import annotations

from rerank_fix.evaluate.evaluator import StratifiedEvaluator
from rerank_fix.evaluate.metrics import DEFAULT_METRICS, per_query

__all__ = ["DEFAULT_METRICS", "StratifiedEvaluator", "per_query"]
