"""Cohere-style reranker: ``POST /v1/rerank`` with ``{"model", "query", "documents", "top_n"}``, answered by
``{"results": [{"index", "relevance_score"}, ...]}``; Jina, Voyage, Mixedbread and Pinecone are presets
of the same shape (see :data:`~rerank_fix.rerank.http_base.PRESETS`)."""
from __future__ import annotations

from rerank_fix.rerank.base import SCORERS
from rerank_fix.rerank.http_base import HttpReranker


@SCORERS.register("http-cohere")
class CohereReranker(HttpReranker):
    """A Cohere-compatible rerank API (or a near-variant through its preset and mapping fields).

    Example:
        >>> reranker = CohereReranker("https+cohere://api.cohere.com?model=rerank-v3.5"
        ...                           "&api_key_env=COHERE_API_KEY")                # doctest: +SKIP
    """

    api = "cohere"
