"""A minimal reranker interface: score pairs, rerank a run."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping, Sequence

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.registry import Registry
from rerank_fix.core.run import Run

#: Scorer backends by name (``torch``; ONNX, OpenVINO and HTTP backends register themselves the same way).
#: One file per backend under ``rerank_fix/rerank/``, each a :class:`Reranker` subclass decorated with
#: ``@SCORERS.register("name")``; list the module below so it registers on first lookup.
SCORERS: "Registry[type[Reranker]]" = Registry("scorer backend", modules=(
    "rerank_fix.rerank.cross_encoder",
    "rerank_fix.rerank.http_tei",
    "rerank_fix.rerank.http_cohere",
    "rerank_fix.rerank.onnx",
    "rerank_fix.rerank.openvino",
))


class Reranker(ABC):
    """Subclasses implement :meth:`score`; :meth:`rerank` reorders the top ``depth`` of a run with it."""

    name: str = "rerank"

    @abstractmethod
    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Relevance scores for ``(query, document text)`` pairs, in input order."""

    def rerank(self, run: Run, queries: Mapping[str, str], corpus: Mapping[str, Document], depth: int = 50,
               name: str | None = None) -> Run:
        """Rescore the top ``depth`` documents of every query; documents below keep their stage-one order.

        All queries' pairs are scored in one call, so batching (and its length sorting) spans queries.
        """
        spans: list[tuple[str, list[str]]] = []
        pairs: list[tuple[str, str]] = []
        for qid, items in run.results.items():
            if qid not in queries:
                continue
            head = [doc_id for doc_id, _ in items[:depth]]
            spans.append((qid, head))
            pairs.extend((queries[qid], corpus[doc_id].full_text) for doc_id in head)
        scores = self.score(pairs) if pairs else np.zeros(0)
        results: dict[str, list[tuple[str, float]]] = {}
        offset = 0
        for qid, head in spans:
            head_scores = [float(s) for s in scores[offset:offset + len(head)]]
            offset += len(head)
            floor = min(head_scores, default=0.0)
            tail = run.results[qid][depth:]
            # The tail stays below every reranked document, in its original order.
            results[qid] = list(zip(head, head_scores)) + [
                (doc_id, floor - 1.0 - i) for i, (doc_id, _) in enumerate(tail)]
        for qid, items in run.results.items():
            results.setdefault(qid, list(items))
        return Run(name or f"{run.name}+{self.name}", results)
