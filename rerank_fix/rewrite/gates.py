"""Gates: which queries get rewritten. A gate is any ``should_rewrite(query) -> bool`` callable.

Gates receive the :class:`~rerank_fix.core.types.Query` (so they can read ids and metadata, like the
evaluator's stratifiers do); the built-in ones also accept a plain string.
"""
from __future__ import annotations

from typing import Any, Callable, Collection

from rerank_fix.core.typos import TypoJudge, word_spans
from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.vocab import Vocabulary

Gate = Callable[[Any], bool]


def _text(query: Any) -> str:
    return query if isinstance(query, str) else str(getattr(query, "text", query))


class MaxTokensGate:
    """Rewrite short queries only: at most ``max_tokens`` whitespace-separated tokens.

    Args:
        max_tokens: Longest query (in tokens) that passes.

    Example:
        >>> gate = MaxTokensGate(3)
        >>> gate("do golddish grow"), gate("why did the us enter ww1")
        (True, False)
    """

    def __init__(self, max_tokens: int) -> None:
        if max_tokens < 1:
            raise ConfigError(f"gate.max_tokens must be at least 1, got {max_tokens}")
        self.max_tokens = max_tokens

    def __call__(self, query: Any) -> bool:
        return len(_text(query).split()) <= self.max_tokens

    def __repr__(self) -> str:
        return f"MaxTokensGate({self.max_tokens})"


class OOVTypoGate:
    """Rewrite typo-looking queries only: at least ``min_oov`` words the corpus has (almost) never seen.

    The words are the typo model's (:func:`~rerank_fix.core.typos.word_spans`: numbers, ids and code tokens
    never count as typos) and "unseen" is :meth:`TypoJudge.unseen <rerank_fix.core.typos.TypoJudge.unseen>`.

    Args:
        vocabulary: Corpus vocabulary.
        min_oov: How many out-of-vocabulary words make a query typo-heavy.
        max_count: Words seen this often or less count as out of vocabulary.
        min_word_len: Shorter words are ignored (acronyms, particles).
        known_words: Words that never count as typos although the corpus lacks them (e.g. common English).

    Example:
        >>> vocab = Vocabulary.from_texts(["goldfish grow in ponds"])
        >>> gate = OOVTypoGate(vocab)
        >>> gate("do golddish grow v2"), gate("goldfish grow")
        (True, False)
    """

    def __init__(self, vocabulary: Vocabulary, min_oov: int = 1, max_count: int = 0, min_word_len: int = 3,
                 known_words: Collection[str] = frozenset()) -> None:
        if min_oov < 1:
            raise ConfigError(f"gate.min_oov must be at least 1, got {min_oov}")
        self.vocabulary = vocabulary
        self.min_oov = min_oov
        self.max_count = max_count
        self.min_word_len = min_word_len
        self.judge = TypoJudge(vocabulary.counts, known_words=known_words, min_word_length=min_word_len,
                               max_count=max_count)
        self.known_words = self.judge.known_words

    def __call__(self, query: Any) -> bool:
        return sum(self.judge.unseen(w.text) for w in word_spans(_text(query))) >= self.min_oov

    def __repr__(self) -> str:
        return f"OOVTypoGate(min_oov={self.min_oov}, max_count={self.max_count})"


class SelectedIdsGate:
    """Rewrite only the given query ids (e.g. a stratum chosen by the evaluator).

    Example:
        >>> from rerank_fix.core.types import Query
        >>> SelectedIdsGate({"q1"})(Query("q1", "text")), SelectedIdsGate({"q1"})(Query("q2", "text"))
        (True, False)
    """

    def __init__(self, query_ids: Collection[str]) -> None:
        self.query_ids = frozenset(str(q) for q in query_ids)

    def __call__(self, query: Any) -> bool:
        query_id = getattr(query, "query_id", None)
        if query_id is None:
            raise TypeError("SelectedIdsGate needs Query objects (with query_id), not plain strings")
        return query_id in self.query_ids

    def __repr__(self) -> str:
        return f"SelectedIdsGate({len(self.query_ids)} ids)"


class AnyGate:
    """Passes when any of its gates passes (a union of strata).

    Example:
        >>> AnyGate([MaxTokensGate(2), MaxTokensGate(5)])("a b c")
        True
    """

    def __init__(self, gates: Collection[Gate]) -> None:
        self.gates = tuple(gates)

    def __call__(self, query: Any) -> bool:
        return any(g(query) for g in self.gates)

    def __repr__(self) -> str:
        return f"AnyGate({list(self.gates)!r})"


class AllGate:
    """Passes when every one of its gates passes (an intersection of strata).

    Example:
        >>> AllGate([MaxTokensGate(2), MaxTokensGate(5)])("a b c")
        False
    """

    def __init__(self, gates: Collection[Gate]) -> None:
        self.gates = tuple(gates)

    def __call__(self, query: Any) -> bool:
        return all(g(query) for g in self.gates)

    def __repr__(self) -> str:
        return f"AllGate({list(self.gates)!r})"


class StratumGate:
    """Rewrite the queries a stratifier puts in one of ``labels`` (e.g. ``TypoStratifier`` -> ``typo-heavy``).

    Works with any object with ``assign({query_id: Query}) -> {query_id: label}``, such as the evaluator's
    stratifiers in :mod:`rerank_fix.evaluate.strata`, so rewriting targets exactly the strata a report shows.

    Args:
        stratifier: Object with an ``assign`` method.
        labels: Stratum labels to rewrite.

    Example:
        >>> from rerank_fix.core.types import Query
        >>> from rerank_fix.evaluate.strata import QueryLengthStratifier
        >>> gate = StratumGate(QueryLengthStratifier((4, 9)), {"len ≤4"})
        >>> gate(Query("q1", "do golddish grow")), gate(Query("q2", "why did the us voluntarily enter ww1"))
        (True, False)
    """

    def __init__(self, stratifier: Any, labels: Collection[str]) -> None:
        if not hasattr(stratifier, "assign"):
            raise ConfigError(f"{stratifier!r} has no assign() method; pass a stratifier")
        self.stratifier = stratifier
        self.labels = frozenset(labels)

    def __call__(self, query: Any) -> bool:
        if isinstance(query, str):
            from rerank_fix.core.types import Query

            query = Query("_", query, {})
        return self.stratifier.assign({query.query_id: query}).get(query.query_id) in self.labels

    def __repr__(self) -> str:
        return f"StratumGate({type(self.stratifier).__name__}, {sorted(self.labels)})"
