"""Shared state for running many pipelines over one corpus.

Stage-one work is the expensive part of a comparison and most pipelines share it: ``dense``,
``dense+rerank`` and ``rrf`` all need the same dense run. The workspace indexes each distinct retriever
config once and caches each (retriever config, query texts) run, so nothing is computed twice.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.pipeline.recipe import RerankStage, stage_key
from rerank_fix.pipeline.stage import StageSpec
from rerank_fix.core.run import Run

from rerank_fix.rerank.base import SCORERS, Reranker

if TYPE_CHECKING:
    from rerank_fix.retrieve.base import Retriever

logger = logging.getLogger("rerank_fix.pipeline")


def texts_key(queries: Mapping[str, str]) -> str:
    """Identifies a set of query texts; two pipelines retrieving with the same texts share runs."""
    blob = json.dumps(sorted(queries.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=12).hexdigest()


def retriever_key(cfg: StageSpec) -> str:
    """The index identity: ``top_k`` changes the search, not the index."""
    return json.dumps(cfg.model_dump(mode="json", exclude={"top_k"}), sort_keys=True)


@dataclass
class CacheStats:
    """How often stage-one work was reused rather than recomputed.

    Example:
        >>> CacheStats(searches=4, search_hits=3).as_dict()["stage_one_cache_hits"]
        3
    """

    indexed: int = 0
    searches: int = 0
    search_hits: int = 0
    reranks: int = 0
    rerank_hits: int = 0
    pairs_scored: int = 0
    pairs_reused: int = 0
    pairs_from_disk: int = 0
    index_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"retrievers_indexed": self.indexed, "stage_one_searches": self.searches,
                "stage_one_cache_hits": self.search_hits, "reranks": self.reranks,
                "rerank_cache_hits": self.rerank_hits, "pairs_scored": self.pairs_scored,
                "pairs_reused": self.pairs_reused, "pairs_from_disk_cache": self.pairs_from_disk,
                "index_seconds": {k: round(v, 3) for k, v in self.index_seconds.items()}}


class PairScoreCache(Reranker):
    """Wraps a reranker and remembers every (query, document) score, so pipelines that rerank overlapping
    candidate lists (dense top 50, RRF top 50) score each pair once. Scores are a pure function of the
    pair, so reuse changes nothing but time.

    Args:
        inner: The reranker that scores the misses.
        stats: Counters of scored and reused pairs.

    Example:
        >>> reranker = PairScoreCache(CrossEncoderReranker("path/to/model"))  # doctest: +SKIP
        >>> reranker.score([("q", "doc")]); reranker.score([("q", "doc")])    # second call scores nothing  # doctest: +SKIP
    """

    def __init__(self, inner: Reranker, stats: CacheStats | None = None, disk: Any = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.stats = stats or CacheStats()
        self.disk = disk
        self._scores: dict[tuple[str, str], float] = {}

    def _score_missing(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        if self.disk is None:
            self.stats.pairs_scored += len(pairs)
            return self.inner.score(pairs)
        # The on-disk cache stores one-number "vectors" keyed by the hash of the pair's text.
        keyed = {_SEP.join(p): p for p in pairs}
        encoded: list[int] = []

        def encode(texts: list[str]) -> np.ndarray:
            encoded.append(len(texts))
            return self.inner.score([keyed[t] for t in texts]).reshape(-1, 1)

        vectors, _ = self.disk.get_or_encode(list(keyed), encode)
        self.stats.pairs_scored += sum(encoded)
        self.stats.pairs_from_disk += len(pairs) - sum(encoded)
        return vectors.reshape(-1)

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        missing = list(dict.fromkeys(p for p in pairs if p not in self._scores))
        if missing:
            for pair, value in zip(missing, self._score_missing(missing)):
                self._scores[pair] = float(value)
        self.stats.pairs_reused += len(pairs) - len(missing)
        return np.asarray([self._scores[p] for p in pairs], dtype=np.float32)


_SEP = "\x1f"  # ASCII unit separator: never part of a query or document text


def model_fingerprint(model: Any) -> str:
    """Identifies a loaded model by its weights (shape and leading values of every parameter), so scores
    are never reused across a retrained folder or another revision of a hub model."""
    digest = hashlib.sha1()
    for name, param in model.named_parameters() if hasattr(model, "named_parameters") else []:
        digest.update(f"{name}:{tuple(param.shape)}".encode())
        digest.update(param.detach().flatten()[:4096].float().cpu().numpy().tobytes())
    return digest.hexdigest()


class Workspace:
    """Indexed retrievers, cached stage-one runs and loaded cross-encoders for one corpus.

    Args:
        corpus: ``doc_id -> Document``.
        embedding_cache: Folder of the dense embedding cache (None: the default under ``$RERANK_FIX_CACHE``).
        show_progress: Progress bars for encoding and reranking.
        score_cache: Folder of the on-disk cross-encoder score cache (None: ``$RERANK_FIX_CACHE/scores``;
            False: keep scores in memory only). Scores are keyed by the model's weights and the pair's text.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> ds = load_eval_set("demo")                                  # doctest: +SKIP
        >>> ws = Workspace(ds.corpus)                                   # doctest: +SKIP
        >>> run = ws.search(BM25Stage(), ds.query_texts)                # doctest: +SKIP
        >>> ws.search(BM25Stage(), ds.query_texts) is run               # cached  # doctest: +SKIP
        True
    """

    def __init__(self, corpus: Mapping[str, Document], embedding_cache: str | Path | None = None,
                 show_progress: bool = True, score_cache: str | Path | bool | None = None) -> None:
        self.corpus = corpus
        self.embedding_cache = embedding_cache
        self.score_cache = score_cache
        self.show_progress = show_progress
        self.stats = CacheStats()
        self._retrievers: dict[str, Retriever] = {}
        self._runs: dict[tuple[str, str], tuple[Run, float]] = {}
        self._memo: dict[str, tuple[Any, float]] = {}
        self._rerankers: dict[str, Reranker] = {}
        self._models: dict[tuple[str, int | None, bool], Any] = {}
        self._objects: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._index_locks: dict[str, threading.Lock] = {}

    # ------------------------------------------------------------------ retrievers
    def retriever(self, cfg: StageSpec) -> Retriever:
        """The indexed retriever for ``cfg``; built and indexed on first use, once."""
        key = retriever_key(cfg)
        with self._lock:
            lock = self._index_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._retrievers:
                start = time.perf_counter()
                retriever = cfg.build(self.embedding_cache, self.show_progress)
                logger.info("indexing %d documents for %s", len(self.corpus), cfg.stage)
                retriever.index(self.corpus)
                self.stats.index_seconds[f"{cfg.stage}:{key[:40]}"] = time.perf_counter() - start
                self.stats.indexed += 1
                self._retrievers[key] = retriever
        return self._retrievers[key]

    def prepare(self, cfgs: Sequence[StageSpec]) -> None:
        """Index every distinct retriever, in parallel threads (BM25 and dense both release the GIL)."""
        unique = {retriever_key(c): c for c in cfgs}
        todo = [c for k, c in unique.items() if k not in self._retrievers]
        if len(todo) <= 1:
            for c in todo:
                self.retriever(c)
            return
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            list(pool.map(self.retriever, todo))

    def search(self, cfg: StageSpec, queries: Mapping[str, str]) -> Run:
        """Stage-one run of ``cfg`` for ``queries`` (top ``cfg.top_k``), computed once per config and texts."""
        return self.search_timed(cfg, queries)[0]

    def search_timed(self, cfg: StageSpec, queries: Mapping[str, str]) -> tuple[Run, float, bool]:
        """``(run, seconds it took when computed, whether it came from the cache)``."""
        key = (stage_key(cfg), texts_key(queries))
        with self._lock:
            self.stats.searches += 1
            if key in self._runs:
                self.stats.search_hits += 1
                run, seconds = self._runs[key]
                return run, seconds, True
        retriever = self.retriever(cfg)
        start = time.perf_counter()
        run = retriever.search(dict(queries), k=cfg.top_k).renamed(cfg.stage)
        seconds = time.perf_counter() - start
        with self._lock:
            self._runs.setdefault(key, (run, seconds))
        return run, seconds, False

    def search_many(self, cfgs: Sequence[StageSpec],
                    queries: Mapping[str, str]) -> list[tuple[Run, float, bool]]:
        """Several retrievers over the same queries, in parallel threads."""
        self.prepare(cfgs)
        if len(cfgs) == 1:
            return [self.search_timed(cfgs[0], queries)]
        with ThreadPoolExecutor(max_workers=len(cfgs)) as pool:
            return list(pool.map(lambda c: self.search_timed(c, queries), cfgs))

    def probe_retriever(self, cfg: StageSpec) -> Retriever:
        """A view of the indexed retriever that never reads the query-embedding cache and shows no bars,
        so timing one query measures what a live query costs."""
        key = "probe:" + retriever_key(cfg)
        if key not in self._objects:
            probe = copy.copy(self.retriever(cfg))
            if hasattr(probe, "cache_dir"):
                probe.cache_dir = None  # type: ignore[attr-defined]
            if hasattr(probe, "show_progress"):
                probe.show_progress = False  # type: ignore[attr-defined]
            self._objects[key] = probe
        return self._objects[key]

    # ------------------------------------------------------------------ reranking
    def cross_encoder(self, model_path: str, max_length: int | None, trust_remote_code: bool) -> Any:
        key = (model_path, max_length, trust_remote_code)
        if key not in self._models:
            from rerank_fix.models import load_cross_encoder

            self._models[key] = load_cross_encoder(model_path, max_length=max_length,
                                                   trust_remote_code=trust_remote_code)
        return self._models[key]

    def reranker(self, cfg: RerankStage, model_path: str, show_progress: bool | None = None,
                 share_scores: bool = False) -> Reranker:
        """A reranker for ``cfg`` with ``model_path`` resolved; the model is loaded once and shared.

        With ``share_scores`` the (query, document) scores are remembered across pipelines, so reranking
        RRF's top 50 after dense's top 50 scores only the documents dense did not have.
        """
        from rerank_fix.rerank.http_base import build_http_reranker, is_http_reranker

        progress = self.show_progress if show_progress is None else show_progress

        if is_http_reranker(model_path):
            # A reranking API: its client caches answers on disk itself; pairs are still shared in memory.
            key = f"http|{model_path}|{share_scores}"
            if key not in self._rerankers:
                inner = build_http_reranker(model_path)
                self._rerankers[key] = PairScoreCache(inner, self.stats) if share_scores else inner
            return self._rerankers[key]
        backend = cfg.backend
        key = f"{model_path}|{cfg.max_length}|{cfg.batch_size}|{cfg.trust_remote_code}|{progress}"
        if backend != "torch":
            key += f"|{backend}"
        if key not in self._rerankers:
            # Every backend is built through SCORERS. The torch one gets the model this workspace loads once,
            # which every pipeline and the score cache's fingerprint share; the others load their own files.
            if backend == "torch":
                source: Any = self.cross_encoder(model_path, cfg.max_length, cfg.trust_remote_code)
                options: dict[str, Any] = {"show_progress": progress}
            else:
                source, options = model_path, {}
            self._rerankers[key] = SCORERS.get(backend)(source, max_length=cfg.max_length, batch_size=cfg.batch_size,
                                                        trust_remote_code=cfg.trust_remote_code, **options)
        if not share_scores:
            return self._rerankers[key]
        shared_key = "shared|" + key
        if shared_key not in self._rerankers:
            disk = None
            if self.score_cache is not False:
                from rerank_fix.retrieve.cache import EmbeddingCache, default_cache_dir

                root = Path(self.score_cache) if self.score_cache else default_cache_dir().parent / "scores"
                model = self.cross_encoder(model_path, cfg.max_length, cfg.trust_remote_code)
                # A quantised backend scores differently: its scores never mix with torch's.
                suffix = "" if backend == "torch" else f"|backend={backend}"
                disk = EmbeddingCache(root, f"cross-encoder|{model_fingerprint(model)}|max_length={cfg.max_length}"
                                            f"{suffix}")
            self._rerankers[shared_key] = PairScoreCache(self._rerankers[key], self.stats, disk)
        return self._rerankers[shared_key]

    def check_parity(self, cfg: RerankStage, model_path: str, run: Run, queries: Mapping[str, str],
                     qrels: Mapping[str, Mapping[str, int]] | None) -> Any:
        """Gate a non-torch scorer backend once per (model, backend): |ΔnDCG@10| <= 0.005 against torch fp32
        on the judged queries of ``run``, else :class:`~rerank_fix.evaluate.parity.ParityError` with the figure."""
        backend = cfg.backend
        if backend == "torch":
            return None
        key = f"parity|{model_path}|{cfg.max_length}|{backend}"
        if key not in self._objects:
            if not qrels:
                logger.warning("scorer backend %s is not parity-checked: no judgements to check it on", backend)
                self._objects[key] = None
                return None
            from rerank_fix.evaluate.parity import require_parity

            torch_cfg = cfg.model_copy(update={"backend": "torch"})
            result = require_parity(self.reranker(cfg, model_path, show_progress=False),
                                    self.reranker(torch_cfg, model_path, show_progress=False),
                                    run, queries, self.corpus, qrels, cfg.depth)
            logger.info("%s: passed", result.line())
            self._objects[key] = result
        return self._objects[key]

    def memo(self, key: str, compute: Callable[[], Any]) -> tuple[Any, float, bool]:
        """Compute a derived result (reranked run, tuned fusion, rewrites) once per ``key``:
        ``(value, seconds it took when computed, whether this call reused it)``."""
        with self._lock:
            if key in self._memo:
                value, seconds = self._memo[key]
                return value, seconds, True
        start = time.perf_counter()
        value = compute()
        seconds = time.perf_counter() - start
        with self._lock:
            self._memo.setdefault(key, (value, seconds))
        return value, seconds, False

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """Any other object built once per workspace (rewriters, vocabularies)."""
        if key not in self._objects:
            self._objects[key] = build()
        return self._objects[key]
