"""Vector indexes for dense retrieval: exact numpy, and FAISS flat / HNSW / IVF for large corpora.

All take L2-normalised float vectors and rank by inner product (= cosine). ``exact`` and ``flat`` are
exact; ``hnsw`` and ``ivf`` are approximate and trade recall for speed (measure it with
``benchmarks/bench_scale.py``, which reports HNSW's recall@100 against exact).

Every index finds ``k + RESCORE_MARGIN`` candidates its own way, then all rescore them with the same
numpy arithmetic and sort them in one canonical order (score descending, then document row ascending).
So exact numpy and FAISS flat, whose BLAS kernels round differently in the last bit, return the *same*
top-k, ties included.

Example:
    >>> import numpy as np
    >>> docs = np.eye(3, dtype=np.float32)
    >>> index = make_index("exact", 3)
    >>> index.add(docs)
    >>> index.search(np.array([[0, 1, 0]], dtype=np.float32), 2)[0].tolist()
    [[1, 0]]
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from rerank_fix.errors import ConfigError

logger = logging.getLogger("rerank_fix.retrieve")

#: ``auto`` switches from exact numpy to FAISS flat at this many documents (when FAISS is installed); None:
#: never. Measured on CPU (benchmarks/README.md, 100,000 x 384-d, 1,000 queries, top-100): FAISS flat took
#: 3.3x numpy's query CPU time with both cores (6.45 s vs 1.98 s; faiss.omp_set_num_threads(2)), 2.4x on one
#: core (7.05 vs 2.88 s) and 2.0x at 1M on one core; its top-k heap for k=116 costs more than numpy's
#: argpartition. Its only edge is memory (456 vs 775 MB peak at 100k, 0.84x at 1M), so ``auto`` stays exact
#: numpy on CPU and ``flat`` / ``hnsw`` / ``ivf`` are there to ask for.
FAISS_THRESHOLD: int | None = None
#: Extra candidates rescored, so a last-bit rounding difference at the k-th place cannot change the list.
RESCORE_MARGIN = 16
KINDS = ("auto", "exact", "flat", "hnsw", "ivf")


def canonical_order(idx: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by score descending, ties by document row ascending (FAISS pads with -1: last)."""
    missing = idx < 0
    key_rows = np.where(missing, np.iinfo(np.int64).max, idx)
    key_scores = np.where(missing, np.inf, -scores.astype(np.float64))
    order = np.lexsort((key_rows, key_scores), axis=1)
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(scores, order, axis=1)



def top_k_cosine(query_vectors: np.ndarray, doc_vectors: np.ndarray, k: int,
                 block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by dot product of L2-normalised vectors, a block of queries at a time.

    Blocking keeps memory at ``block x n_docs`` floats instead of a full queries x corpus matrix; the block
    shrinks on large corpora so that one block's scores stay near 256 MB (a 1M-document corpus would
    otherwise hold 1 GB of scores and 2 GB of argpartition indices per block).
    """
    k = min(k, doc_vectors.shape[0])
    block = max(1, min(block, (64 << 20) // max(1, doc_vectors.shape[0])))
    all_idx = np.empty((len(query_vectors), k), dtype=np.int64)
    all_scores = np.empty((len(query_vectors), k), dtype=np.float32)
    for start in range(0, len(query_vectors), block):
        sims = query_vectors[start:start + block] @ doc_vectors.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else np.tile(np.arange(k), (len(sims), 1))
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        all_idx[start:start + block] = np.take_along_axis(part, order, axis=1)
        all_scores[start:start + block] = np.take_along_axis(part_scores, order, axis=1)
    return all_idx, all_scores

class VectorIndex:
    """Add document vectors once, then search query blocks. Subclasses implement ``_add`` and ``_search``."""

    kind = "index"

    def __init__(self) -> None:
        self.size = 0

    def add(self, vectors: np.ndarray) -> None:
        self._add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.size = len(vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, scores)``, each ``len(queries) x min(k, size)``, best first."""
        k = min(k, self.size)
        if k == 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        wide = min(k + RESCORE_MARGIN, self.size)
        out_idx = np.empty((len(queries), k), dtype=np.int64)
        out_scores = np.empty((len(queries), k), dtype=np.float32)
        for start in range(0, len(queries), 256):
            block = queries[start:start + 256]
            idx, _ = self._search(block, wide)
            idx = np.asarray(idx, dtype=np.int64)
            gathered = self._vectors(np.where(idx < 0, 0, idx))
            scores = np.einsum("qkd,qd->qk", gathered, block)  # one arithmetic for every index kind
            scores[idx < 0] = -np.inf
            idx, scores = canonical_order(idx, scores)
            out_idx[start:start + 256], out_scores[start:start + 256] = idx[:, :k], scores[:, :k]
        return out_idx, out_scores

    def _add(self, vectors: np.ndarray) -> None:
        raise NotImplementedError

    def _vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (any shape), as float32 ``rows.shape + (dim,)``."""
        flat = self.index.reconstruct_batch(rows.reshape(-1))
        return flat.reshape(*rows.shape, -1)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class ExactIndex(VectorIndex):
    """Blocked exact top-k in numpy (:func:`top_k_cosine`); the vectors may be a
    memory-mapped array, which is read block by block rather than copied."""

    kind = "exact"

    def __init__(self, block: int = 256) -> None:
        super().__init__()
        self.block = block
        self.vectors: np.ndarray | None = None

    def add(self, vectors: np.ndarray) -> None:
        self.vectors = vectors if vectors.dtype == np.float32 else np.asarray(vectors, dtype=np.float32)
        self.size = len(vectors)

    def _vectors(self, rows: np.ndarray) -> np.ndarray:
        assert self.vectors is not None
        return np.asarray(self.vectors[rows], dtype=np.float32)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.vectors is not None
        return top_k_cosine(queries, self.vectors, k, block=self.block)


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ConfigError("this dense index needs FAISS: pip install 'rerank-fix[faiss]' (faiss-cpu)") from None
    return faiss


class FaissFlatIndex(VectorIndex):
    """FAISS ``IndexFlatIP``: exact inner product, multi-threaded BLAS, no numpy intermediate per block."""

    kind = "flat"

    def _add(self, vectors: np.ndarray) -> None:
        faiss = _faiss()
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, idx = self.index.search(queries, k)
        return idx, scores


class FaissHNSWIndex(VectorIndex):
    """FAISS ``IndexHNSWFlat`` (inner product): approximate, sub-linear search.

    Args:
        m: Graph neighbours per node (memory grows with it).
        ef_construction / ef_search: Beam widths when building / searching (recall grows with them).
    """

    kind = "hnsw"

    def __init__(self, m: int = 32, ef_construction: int = 80, ef_search: int = 128) -> None:
        super().__init__()
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search

    def _add(self, vectors: np.ndarray) -> None:
        faiss = _faiss()
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], self.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.ef_construction
        self.index.add(vectors)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.index.hnsw.efSearch = max(self.ef_search, k)
        scores, idx = self.index.search(queries, k)
        return idx, scores


class FaissIVFIndex(VectorIndex):
    """FAISS ``IndexIVFFlat`` (inner product): k-means cells, searches the ``nprobe`` nearest cells.

    Args:
        nlist: Cells (default ``4 * sqrt(n)``, capped so each has ~39 training points).
        nprobe: Cells searched per query.
    """

    kind = "ivf"

    def __init__(self, nlist: int | None = None, nprobe: int = 16) -> None:
        super().__init__()
        self.nlist, self.nprobe = nlist, nprobe

    def _add(self, vectors: np.ndarray) -> None:
        faiss = _faiss()
        n, dim = vectors.shape
        nlist = self.nlist or max(1, min(int(4 * np.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        self.index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        self.index.train(vectors)
        self.index.add(vectors)
        self.index.make_direct_map()  # lets the rescoring step reconstruct vectors by row
        self.index.nprobe = min(self.nprobe, nlist)
        self._quantizer = quantizer  # the IVF index does not own it

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, idx = self.index.search(queries, k)
        return idx, scores


INDEXES: dict[str, Callable[[], VectorIndex]] = {
    "exact": ExactIndex, "flat": FaissFlatIndex, "hnsw": FaissHNSWIndex, "ivf": FaissIVFIndex,
}


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def make_index(kind: str, n_docs: int, threshold: int | None = FAISS_THRESHOLD) -> VectorIndex:
    """An empty index of ``kind``; ``auto`` is exact numpy below ``threshold`` documents (None: at every size,
    the faster one on CPU, see ``FAISS_THRESHOLD``), FAISS flat above (exact numpy, with a log line, when FAISS
    is not installed)."""
    if kind == "auto":
        if threshold is None or n_docs < threshold:
            kind = "exact"
        elif faiss_available():
            kind = "flat"
        else:
            logger.info("%d documents: install faiss-cpu for a faster exact search; using numpy", n_docs)
            kind = "exact"
    if kind not in INDEXES:
        raise ConfigError(f"unknown dense index {kind!r}; choose one of: {', '.join(KINDS)}")
    return INDEXES[kind]()
