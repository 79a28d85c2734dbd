"""Stage one: BM25 and dense retrievers that both return a :class:`Run`."""
from __future__ import annotations

from rerank_fix.core.run import Run
from rerank_fix.retrieve.base import Retriever

__all__ = ["Retriever", "Run", "make_retriever"]


def make_retriever(kind: str, **options) -> Retriever:
    """Build a stage-one retriever by name: ``"dense"`` or ``"bm25"``; the one place retrievers are built
    (recipe stages, ``diagnose``, the workspace and the hard-negative miner all come here).

    Example:
        >>> make_retriever("bm25", k1=1.2).k1
        1.2
    """
    if kind == "dense":
        from rerank_fix.retrieve.dense import DenseRetriever

        return DenseRetriever(**options)
    if kind == "bm25":
        from rerank_fix.retrieve.bm25 import BM25Retriever

        return BM25Retriever(**options)
    from rerank_fix.errors import ConfigError

    raise ConfigError(f"unknown retriever {kind!r}; choose 'dense' or 'bm25'")
