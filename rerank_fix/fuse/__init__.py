"""Rank fusion of several runs."""
from __future__ import annotations

from rerank_fix.fuse.rrf import reciprocal_rank_fusion

__all__ = ["reciprocal_rank_fusion"]
