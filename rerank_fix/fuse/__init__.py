"""Fusion of rankings: several runs by reciprocal rank fusion, or a reranker's scores with stage one's."""
from __future__ import annotations

from rerank_fix.fuse.interpolate import interpolate_scores
from rerank_fix.fuse.rrf import reciprocal_rank_fusion

__all__ = ["interpolate_scores", "reciprocal_rank_fusion"]
