"""BM25 over the code-aware tokenizer, with two engines.

``bm25s`` (default) scores with sparse matrices and is fast; ``rank_bm25`` is the classic pure-Python
implementation, kept as a selectable engine and as the parity oracle in tests.
"""
from __future__ import annotations

import logging
from typing import Container, Mapping

import numpy as np

from rerank_fix.core.types import Document
from rerank_fix.errors import ConfigError
from rerank_fix.retrieve.base import Retriever
from rerank_fix.core.run import SCORE_THEN_ID, Run
from rerank_fix.retrieve.tokenize import tokenize

logger = logging.getLogger("rerank_fix.retrieve")

ENGINES = ("bm25s", "rank_bm25")
BACKENDS = ("numpy", "numba")


class BM25Retriever(Retriever):
    """Okapi BM25 keyword retrieval.

    Args:
        k1: Term-frequency saturation. 0.9 with ``b=0.4`` are the Anserini/BEIR defaults.
        b: Length normalisation.
        engine: ``"bm25s"`` (sparse matrices, fast) or ``"rank_bm25"`` (reference implementation).
        method: bm25s scoring variant; ``"lucene"`` matches Lucene/Elasticsearch, ``"robertson"`` matches
            rank-bm25's ``BM25Okapi``.
        backend: How the ``bm25s`` engine scores queries. ``"numpy"`` (default) or ``"numba"``
            (``pip install 'rerank-fix[bm25-numba]'``): bm25s' JIT-compiled scorer, the same scores about 3.7x
            faster per query at 100k documents, after about 5 s of compiling in each new process, so it
            pays off from a few thousand queries per process (``benchmarks/bench_bm25.py``). Documents tied at
            the k-th score may be kept in a different choice than with numpy.
        stem: Snowball-stem tokens (needs PyStemmer).
        split_identifiers: Also index the parts of camelCase / snake_case identifiers (matters on code).
            ``stem=False, split_identifiers=False`` reproduces BEIR's published BM25 (nDCG@10 0.665 on
            SciFact); the defaults score higher (0.689).

    Example:
        >>> from rerank_fix.core.types import Document
        >>> bm25 = BM25Retriever()
        >>> bm25.index({"d1": Document("d1", text="refund policy for annual plans"),
        ...             "d2": Document("d2", text="rotate an api key")})
        >>> bm25.search({"q": "api key rotation"}, k=1).ranked_ids("q")
        ['d2']

    References:
        Robertson & Zaragoza (2009), The Probabilistic Relevance Framework: BM25 and Beyond.
        Lù (2024), BM25S: Orders of magnitude faster lexical search via eager sparse scoring.
    """

    def __init__(self, k1: float = 0.9, b: float = 0.4, engine: str = "bm25s", method: str = "lucene",
                 stem: bool = True, split_identifiers: bool = True, show_progress: bool = False,
                 backend: str = "numpy") -> None:
        if engine not in ENGINES:
            raise ConfigError(f"unknown BM25 engine {engine!r}; choose one of {', '.join(ENGINES)}")
        if backend not in BACKENDS:
            raise ConfigError(f"unknown BM25 backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if backend == "numba":
            import importlib.util

            if importlib.util.find_spec("numba") is None:
                raise ConfigError("BM25 backend numba needs the numba package: pip install 'rerank-fix[bm25-numba]' "
                                  "(or use the default backend numpy)")
        self.backend = backend
        if k1 < 0 or not 0 <= b <= 1:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1={k1}, b={b})")
        self.k1, self.b, self.engine, self.method, self.stem = k1, b, engine, method, stem
        self.split_identifiers = split_identifiers
        self.show_progress = show_progress
        self.name = "bm25"
        self._doc_ids: list[str] = []
        self._model = None
        self._vocab: Container[str] = frozenset()

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, stem=self.stem, split_identifiers=self.split_identifiers)

    def index(self, corpus: Mapping[str, Document]) -> None:
        self._doc_ids = [str(doc_id) for doc_id in corpus]
        # The vocabulary is the engine's own table (bm25s' vocab_dict, rank-bm25's idf): building a set of
        # every corpus token in Python was the largest part of our overhead over plain bm25s.
        if self.engine == "bm25s":
            import bm25s

            from rerank_fix.retrieve.bm25_matrix import index_tokens

            # bm25s forces its own logger to DEBUG on import, which floods the user's terminal.
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            self._model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method, backend=self.backend)
            # bm25s' matrix, built in one numpy pass from token ids made while tokenizing (no list of token
            # lists in memory); the scores are bit-identical to self._model.index(corpus_tokens).
            texts = corpus.values()
            if self.show_progress:
                from tqdm.auto import tqdm

                texts = tqdm(texts, desc="BM25 index", unit=" docs")
            index_tokens(self._model, (self.tokenize(doc.full_text) for doc in texts))
            self._vocab = self._model.vocab_dict
        else:
            corpus_tokens = [self.tokenize(doc.full_text) for doc in corpus.values()]
            try:
                from rank_bm25 import BM25Okapi
            except ImportError:
                from rerank_fix.errors import ConfigError

                raise ConfigError("engine rank_bm25 needs the rank-bm25 package: pip install 'rerank-fix[rank-bm25]' "
                                  "(or use the default engine bm25s)") from None

            # rank-bm25 divides by zero on an empty document; one placeholder token keeps it finite
            # and matches nothing a query can contain.
            self._model = BM25Okapi([t or ["\x00"] for t in corpus_tokens], k1=self.k1, b=self.b)
            self._vocab = self._model.idf

    def search(self, queries: Mapping[str, str], k: int = 100) -> Run:
        if self._model is None:
            raise RuntimeError("call index() before search()")
        k = min(k, len(self._doc_ids))
        query_ids = list(queries)
        token_lists = [[t for t in self.tokenize(queries[qid]) if t in self._vocab] for qid in query_ids]
        results: dict[str, list[tuple[str, float]]] = {qid: [] for qid in query_ids}
        searchable = [i for i, tokens in enumerate(token_lists) if tokens]
        if len(searchable) < len(query_ids):
            logger.info("%d queries share no term with the corpus and get an empty BM25 ranking",
                        len(query_ids) - len(searchable))
        if not searchable:
            return Run(self.name, results)
        if self.engine == "bm25s":
            # n_threads=0 scores in this thread; a pool of one thread only adds a hand-off per query.
            doc_idx, scores = self._model.retrieve([token_lists[i] for i in searchable], k=k,
                                                   show_progress=self.show_progress, n_threads=0)
            ids = self._doc_ids
            for row, i in enumerate(searchable):
                # tolist() converts a whole row to Python numbers at C speed (not one numpy scalar at a time).
                ranking = [(ids[d], s) for d, s in zip(doc_idx[row].tolist(), scores[row].tolist()) if s > 0]
                ranking.sort(key=SCORE_THEN_ID, reverse=True)  # bm25s leaves ties in any order
                results[query_ids[i]] = ranking
            # Pairs are (str, float) in sort_ranking's order: building the Run again would copy every pair.
            return Run.from_sorted(self.name, {str(qid): ranking for qid, ranking in results.items()})
        else:
            for i in searchable:
                scores = np.asarray(self._model.get_scores(token_lists[i]))
                top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
                results[query_ids[i]] = [(self._doc_ids[d], float(scores[d])) for d in top if scores[d] != 0]
        return Run(self.name, results)
