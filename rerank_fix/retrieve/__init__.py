"""Stage one: BM25 and dense retrievers that both return a :class:`Run`."""
from __future__ import annotations

from rerank_fix.retrieve.base import Retriever
from rerank_fix.core.run import Run

__all__ = ["Retriever", "Run", "make_retriever"]


def make_retriever(kind: str, **options) -> Retriever:
    """Build a stage-one retriever by name: ``"dense"`` or ``"bm25"``."""
    if kind == "dense":
        from rerank_fix.retrieve.dense import DenseRetriever

        return DenseRetriever(**options)
    if kind == "bm25":
        from rerank_fix.retrieve.bm25 import BM25Retriever

        return BM25Retriever(**options)
    from rerank_fix.errors import ConfigError

    raise ConfigError(f"unknown retriever {kind!r}; choose 'dense' or 'bm25'")
