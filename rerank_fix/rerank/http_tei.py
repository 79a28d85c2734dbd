"""Hugging Face text-embeddings-inference (TEI) style reranker: ``POST /rerank``.

Request ``{"query", "texts", "raw_scores", "truncate"}``; answer ``[{"index", "score"}, ...]``.
"""
from __future__ import annotations

from typing import Any

from rerank_fix.rerank.base import SCORERS
from rerank_fix.rerank.http_base import HttpReranker


@SCORERS.register("http-tei")
class TEIReranker(HttpReranker):
    """A TEI ``/rerank`` server (or ``rerank-fix serve``, which speaks the same route).

    Example:
        >>> reranker = TEIReranker("http+tei://127.0.0.1:8080")               # doctest: +SKIP
        >>> reranker.score([("what is bm25", "BM25 is a ranking function.")])  # doctest: +SKIP
    """

    api = "tei"

    def extra_fields(self) -> dict[str, Any]:
        return {"raw_scores": self.config.raw_scores, "truncate": self.config.truncate}
