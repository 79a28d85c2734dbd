"""Dense retrieval: any sentence-transformers bi-encoder; exact cosine top-k in numpy, or FAISS at scale."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.retrieve.base import Retriever
from rerank_fix.retrieve.cache import EmbeddingCache, default_cache_dir
from rerank_fix.core.run import Run

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rerank_fix.retrieve.index import VectorIndex

logger = logging.getLogger("rerank_fix.retrieve")


class DenseRetriever(Retriever):
    """Bi-encoder retrieval with an on-disk embedding cache.

    Args:
        model: Hub id, local path, or ``None`` for the bundled all-MiniLM-L6-v2.
        batch_size: Encoding batch size.
        cache_dir: Embedding cache folder (default ``~/.cache/rerank_fix/embeddings`` or ``$RERANK_FIX_CACHE``);
            ``False`` disables caching.
        query_prefix / doc_prefix: Instruction prefixes some models need (``"query: "`` for E5).
        show_progress: Progress bars while encoding.
        index: Vector index (:mod:`rerank_fix.retrieve.index`): ``auto`` (exact numpy, or exact FAISS flat from
            ``index_threshold`` documents), ``exact``, ``flat``, ``hnsw`` or ``ivf``.
        index_threshold: Where ``auto`` switches to FAISS (default: never; numpy measured faster on CPU).
        encode_devices: Encode with sentence-transformers' multi-process pool on these devices
            (``["cuda:0", "cuda:1"]``, or ``["cpu"] * 4`` for CPU processes); ``None`` encodes in-process.
        cache_dtype: ``float32`` or ``float16`` storage in the embedding cache (fp16 halves disk and
            memory-mapped reads; scores then differ from fp32 by about 1e-3).

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> ds = load_eval_set("demo")
        >>> dense = DenseRetriever()
        >>> dense.index(ds.corpus)
        >>> run = dense.search(ds.query_texts, k=100)

    References:
        Reimers & Gurevych (2019), Sentence-BERT.
    """

    def __init__(self, model: "str | SentenceTransformer | None" = None, batch_size: int = 64,
                 cache_dir: str | Path | bool | None = None, query_prefix: str = "", doc_prefix: str = "",
                 show_progress: bool = True, device: str | None = None, index: str = "auto",
                 index_threshold: int | None = None, encode_devices: Sequence[str] | None = None,
                 cache_dtype: str = "float32") -> None:
        from rerank_fix.retrieve.index import FAISS_THRESHOLD, KINDS

        if index not in KINDS:
            from rerank_fix.errors import ConfigError

            raise ConfigError(f"unknown dense index {index!r}; choose one of: {', '.join(KINDS)}")
        # Either a spec to load lazily, or an already-loaded model (its repr then keys the cache).
        self._model_given = model is not None and not isinstance(model, str)
        self._model_spec = None if self._model_given else model
        self._model = model if self._model_given else None
        self.batch_size = batch_size
        self.cache_dir = None if cache_dir is False else Path(cache_dir) if cache_dir else default_cache_dir()
        self.query_prefix, self.doc_prefix = query_prefix, doc_prefix
        self.show_progress = show_progress
        self.device = device
        self.index_kind = index
        self.index_threshold = FAISS_THRESHOLD if index_threshold is None else index_threshold
        self.encode_devices = list(encode_devices) if encode_devices else None
        self.cache_dtype = cache_dtype
        self.name = "dense"
        self.encoded_count = 0  # texts actually sent through the model; the cache makes this 0 on re-runs
        self._doc_ids: list[str] = []
        self._doc_vectors: np.ndarray | None = None
        self._index: "VectorIndex | None" = None
        self._cache: EmbeddingCache | None = None

    @property
    def model(self) -> "SentenceTransformer":
        if self._model is None:
            from rerank_fix.models import load_bi_encoder

            self._model = load_bi_encoder(self._model_spec, device=self.device)
        return self._model

    def _model_key(self) -> str:
        from rerank_fix.models import resolve_model

        ident = repr(self._model) if self._model_given else resolve_model(self._model_spec)
        return f"{ident}|max_seq={self.model.max_seq_length}|normalized"

    def _encode(self, texts: list[str], desc: str) -> np.ndarray:
        self.encoded_count += len(texts)
        progress = self.show_progress and len(texts) > self.batch_size
        if self.encode_devices and len(texts) > self.batch_size:
            # sentence-transformers' own pool: one process per device, chunks handed out by it.
            pool = self.model.start_multi_process_pool(self.encode_devices)
            try:
                return self.model.encode(texts, pool=pool, batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=progress)
            finally:
                self.model.stop_multi_process_pool(pool)
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=progress)

    def encode(self, texts: Sequence[str], desc: str = "encode") -> np.ndarray:
        if self.cache_dir is None:
            return self._encode(list(texts), desc)
        if self._cache is None:
            self._cache = EmbeddingCache(self.cache_dir, self._model_key(), dtype=self.cache_dtype)
        vectors, _ = self._cache.get_or_encode(list(texts), lambda missing: self._encode(missing, desc))
        return vectors

    def index(self, corpus: Mapping[str, Document]) -> None:
        self._doc_ids = list(corpus)
        self._doc_vectors = self.encode([self.doc_prefix + d.full_text for d in corpus.values()], "documents")
        from rerank_fix.retrieve.index import make_index

        self._index = make_index(self.index_kind, len(self._doc_ids), self.index_threshold)
        self._index.add(self._doc_vectors)

    def search(self, queries: Mapping[str, str], k: int = 100) -> Run:
        if self._index is None:
            raise RuntimeError("call index() before search()")
        query_ids = list(queries)
        if not query_ids:
            return Run(self.name, {})
        query_vectors = self.encode([self.query_prefix + queries[q] for q in query_ids], "queries")
        idx, scores = self._index.search(query_vectors, k)
        return Run(self.name, {qid: [(self._doc_ids[d], float(s)) for d, s in zip(idx[i], scores[i])]
                               for i, qid in enumerate(query_ids)})
