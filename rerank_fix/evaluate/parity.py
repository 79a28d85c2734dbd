"""The parity gate: a faster scorer backend is used only if it ranks like torch fp32 on the user's queries.

Both scorers rerank the same stage-one candidates of the judged queries; the backend passes when its
nDCG@10 is within :data:`MAX_NDCG_DELTA` of torch fp32's (either direction: a backend that "improves"
nDCG by more is not the same model any more). Otherwise it is refused with the figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.errors import UserInputError
from rerank_fix.rerank.base import Reranker
from rerank_fix.core.run import Run

MAX_NDCG_DELTA = 0.005


class ParityError(UserInputError):
    """A scorer backend ranks the user's dev queries differently from torch fp32; it is refused."""


@dataclass
class BackendParity:
    """How a backend compares with torch fp32 on the judged queries.

    Args:
        backend: The backend's name (``onnx-int8``).
        queries / pairs: Judged queries and (query, document) pairs scored by both.
        ndcg_reference / ndcg_backend: Mean nDCG@10 after reranking with torch fp32 / the backend.
        max_abs_diff: Largest score difference over the pairs.
        tolerance: The allowed |ΔnDCG@10|.

    Example:
        >>> BackendParity("onnx", 10, 300, 0.70, 0.701, 0.002).passed
        True
    """

    backend: str
    queries: int
    pairs: int
    ndcg_reference: float
    ndcg_backend: float
    max_abs_diff: float
    tolerance: float = MAX_NDCG_DELTA

    @property
    def delta(self) -> float:
        return self.ndcg_backend - self.ndcg_reference

    @property
    def passed(self) -> bool:
        return abs(self.delta) <= self.tolerance + 1e-12

    def line(self) -> str:
        return (f"scorer backend {self.backend}: dev nDCG@10 {self.ndcg_backend:.4f} vs torch fp32 "
                f"{self.ndcg_reference:.4f} (Δ {self.delta:+.4f}, limit ±{self.tolerance}) on {self.queries} "
                f"judged queries, {self.pairs} pairs; max |Δscore| {self.max_abs_diff:.2e}")

    def as_dict(self) -> dict:
        return {"backend": self.backend, "queries": self.queries, "pairs": self.pairs,
                "ndcg@10_torch": self.ndcg_reference, "ndcg@10_backend": self.ndcg_backend,
                "ndcg@10_delta": self.delta, "max_abs_diff": self.max_abs_diff, "tolerance": self.tolerance,
                "passed": self.passed}


def measure_parity(backend: Reranker, reference: Reranker, run: Run, queries: Mapping[str, str],
                   corpus: Mapping[str, Document], qrels: Mapping[str, Mapping[str, int]], depth: int,
                   max_queries: int | None = 200, tolerance: float = MAX_NDCG_DELTA,
                   backend_name: str | None = None) -> BackendParity:
    """Rerank the judged queries of ``run`` with both scorers and compare nDCG@10.

    Args:
        backend: The candidate scorer.
        reference: torch fp32 (:class:`~rerank_fix.rerank.cross_encoder.CrossEncoderReranker`).
        run: Stage-one candidates.
        queries / corpus / qrels: Texts and judgements (the dev split, or the evaluated queries).
        depth: Candidates reranked per query, as the stage does.
        max_queries: Cap on judged queries used (the first ones by id), to bound the gate's cost.
    """
    from rerank_fix.evaluate.metrics import mean_scores, per_query

    judged = sorted(q for q in run.results if q in qrels and q in queries and run.results[q])
    if max_queries:
        judged = judged[:max_queries]
    if not judged:
        raise ParityError("the parity gate needs judged queries with stage-one candidates; none were given "
                          "(run the recipe on a split with qrels, or use backend: torch)")
    sub = Run(run.name, {q: run.results[q] for q in judged})
    texts = {q: queries[q] for q in judged}
    pairs = [(texts[q], corpus[d].full_text) for q in judged for d, _ in sub.results[q][:depth]]
    ref_scores = np.asarray(reference.score(pairs), dtype=np.float64)
    new_scores = np.asarray(backend.score(pairs), dtype=np.float64)
    sub_qrels = {q: qrels[q] for q in judged}

    def ndcg(scores: np.ndarray) -> float:
        ranked: dict[str, list[tuple[str, float]]] = {}
        offset = 0
        for q in judged:
            head = [d for d, _ in sub.results[q][:depth]]
            ranked[q] = list(zip(head, scores[offset:offset + len(head)].tolist()))
            offset += len(head)
        return mean_scores(per_query(Run("r", ranked), sub_qrels, ["ndcg@10"]))["ndcg@10"]

    name = backend_name or getattr(backend, "variant", None) or backend.name
    diff = float(np.max(np.abs(ref_scores - new_scores))) if len(pairs) else 0.0
    return BackendParity(name, len(judged), len(pairs), ndcg(ref_scores), ndcg(new_scores), diff, tolerance)


def require_parity(*args, **kwargs) -> BackendParity:
    """:func:`measure_parity`, raising :class:`ParityError` with the figure when the backend fails."""
    result = measure_parity(*args, **kwargs)
    if not result.passed:
        raise ParityError(result.line() + ". Refused: use the fp32 variant or backend: torch")
    return result
