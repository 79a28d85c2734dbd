"""Stage two: rerank a stage-one run with a cross-encoder."""
from __future__ import annotations

from rerank_fix.rerank.base import SCORERS, Reranker
from rerank_fix.rerank.cross_encoder import CrossEncoderReranker

__all__ = ["SCORERS", "CrossEncoderReranker", "Reranker"]
