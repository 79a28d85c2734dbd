"""Stage-one candidates for mining, a block of queries at a time, from the project's own retrievers.

Dense retrieval searches the dense retriever's vector index (:mod:`rerank_fix.retrieve.index`: exact
numpy, or FAISS past its size threshold) over vectors from :meth:`DenseRetriever.encode`, so the embedding
cache of ``diagnose`` is shared and a second run encodes nothing; a corpus encoded in one go comes back
memory-mapped from that cache. BM25 is :class:`BM25Retriever`; hybrid is their reciprocal rank fusion.
The miner asks for one query block at a time, so no queries x corpus matrix is ever built beyond a block.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.errors import ConfigError
from rerank_fix.core.run import Run

if TYPE_CHECKING:
    from rerank_fix.retrieve.bm25 import BM25Retriever
    from rerank_fix.retrieve.dense import DenseRetriever


@dataclass
class CandidateBlock:
    """Rankings of one query block, plus the block's query vectors (``None`` without a bi-encoder)."""

    query_ids: list[str]
    rankings: dict[str, list[tuple[str, float]]]
    query_vectors: np.ndarray | None

    def row(self, query_id: str) -> int:
        return self.query_ids.index(query_id)


class CandidateSource:
    """Retrieves the top ``depth`` documents per query and gives bi-encoder similarities on demand.

    Args:
        corpus: ``doc_id -> Document``.
        retriever: ``dense``, ``bm25`` or ``hybrid``.
        depth: Documents retrieved per query (the bottom of the mining window).
        dense: The bi-encoder retriever (its model, prefixes and embedding cache are used); required for
            ``dense`` and ``hybrid`` and for similarity checks.
        bm25: A BM25 retriever for ``bm25`` and ``hybrid``; built with defaults when not given.
        rrf_k: RRF damping constant for ``hybrid``.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> from rerank_fix.retrieve.bm25 import BM25Retriever
        >>> ds = load_eval_set("demo", split="test")  # doctest: +SKIP
        >>> source = CandidateSource(ds.corpus, "bm25", depth=20, bm25=BM25Retriever())  # doctest: +SKIP
        >>> source.prepare()  # doctest: +SKIP
        >>> block = source.retrieve(ds.query_texts)  # doctest: +SKIP
    """

    def __init__(self, corpus: Mapping[str, Document], retriever: str, depth: int,
                 dense: "DenseRetriever | None" = None, bm25: "BM25Retriever | None" = None,
                 rrf_k: float = 60.0) -> None:
        if retriever not in ("dense", "bm25", "hybrid"):
            raise ConfigError(f"unknown retriever {retriever!r}; choose dense, bm25 or hybrid")
        if retriever in ("dense", "hybrid") and dense is None:
            raise ConfigError(f"the {retriever} retriever needs a bi-encoder")
        self.corpus = corpus
        self.retriever = retriever
        self.depth = depth
        self.dense = dense
        self.bm25 = bm25
        self.rrf_k = rrf_k
        self.doc_ids: list[str] = []
        self._row: dict[str, int] = {}
        self.doc_vectors: np.ndarray | None = None
        self._index = None

    @property
    def has_vectors(self) -> bool:
        return self.doc_vectors is not None

    def prepare(self) -> None:
        """Encode the corpus (cached) and/or build the BM25 index."""
        self.doc_ids = list(self.corpus)
        self._row = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        if self.dense is not None:
            prefix = self.dense.doc_prefix
            self.doc_vectors = self.dense.encode([prefix + d.full_text for d in self.corpus.values()], "documents")
            if self.retriever in ("dense", "hybrid"):
                from rerank_fix.retrieve.index import make_index

                self._index = make_index(getattr(self.dense, "index_kind", "auto"), len(self.doc_ids),
                                         getattr(self.dense, "index_threshold", 50_000))
                self._index.add(self.doc_vectors)
        if self.retriever in ("bm25", "hybrid"):
            if self.bm25 is None:
                from rerank_fix.retrieve.bm25 import BM25Retriever

                self.bm25 = BM25Retriever()
            self.bm25.index(self.corpus)

    def retrieve(self, queries: Mapping[str, str]) -> CandidateBlock:
        """Rankings (best first, at most ``depth``) for one block of ``query_id -> text``."""
        query_ids = list(queries)
        vectors = None
        if self.dense is not None:
            prefix = self.dense.query_prefix
            vectors = self.dense.encode([prefix + queries[q] for q in query_ids], "queries")
        runs: list[Run] = []
        if self.retriever in ("dense", "hybrid"):
            assert vectors is not None and self._index is not None
            idx, scores = self._index.search(vectors, self.depth)
            ids = self.doc_ids
            dense = {qid: list(zip([ids[d] for d in idx[i]], scores[i].tolist())) for i, qid in enumerate(query_ids)}
            if self.retriever == "dense":
                # Already best first; a Run would only sort it again.
                return CandidateBlock(query_ids, dense, vectors)
            runs.append(Run("dense", dense))
        if self.retriever in ("bm25", "hybrid"):
            assert self.bm25 is not None
            runs.append(self.bm25.search(queries, k=self.depth))
        if self.retriever == "hybrid":
            from rerank_fix.fuse.rrf import reciprocal_rank_fusion

            run = reciprocal_rank_fusion(runs, k=self.rrf_k, depth=self.depth, name="hybrid")
        else:
            run = runs[0]
        rankings = {qid: run.results.get(qid, [])[:self.depth] for qid in query_ids}
        return CandidateBlock(query_ids, rankings, vectors)

    def similarities(self, query_vector: np.ndarray, doc_ids: Sequence[str]) -> np.ndarray:
        """Cosine similarity of one query to the given documents (vectors are L2-normalised)."""
        if self.doc_vectors is None:
            raise RuntimeError("no bi-encoder vectors: construct the source with a dense retriever")
        if not doc_ids:
            return np.zeros(0, dtype=np.float32)
        rows = np.fromiter((self._row[d] for d in doc_ids), dtype=np.int64, count=len(doc_ids))
        return self.doc_vectors[rows] @ query_vector
