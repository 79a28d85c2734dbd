"""Near-duplicate detection between a candidate negative and the query's positives.

A corpus often holds the same passage twice (a reprint, a second version, a boilerplate-prefixed copy);
when one copy is judged relevant the other is an unlabeled positive, and training on it as a negative
teaches the reranker to contradict itself. Two checks, both cheap and exact (no MinHash sampling):

- exact: equal hashes of the normalised text (Unicode NFKC, case-folded, punctuation and whitespace
  collapsed), so formatting-only differences count as the same text;
- near: Jaccard similarity of word-shingle sets at or above a threshold.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from typing import Callable, Iterable

_WORD = re.compile(r"\w+")


def normalized_tokens(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def normalized_text(text: str) -> str:
    """Case-folded words joined by single spaces; punctuation and formatting are dropped.

    Example:
        >>> normalized_text("  The  Cat,\\n sat!")
        'the cat sat'
    """
    return " ".join(normalized_tokens(text))


def text_hash(text: str) -> str:
    """Hash of :func:`normalized_text`; equal for texts that differ only in case, spacing or punctuation."""
    return hashlib.blake2b(normalized_text(text).encode("utf-8"), digest_size=16).hexdigest()


def shingles(text: str, size: int = 3) -> frozenset[int]:
    """Hashed word ``size``-grams of the normalised text (single words for texts shorter than ``size``).

    Hashes are Python's built-in string hashes: stable within a process, which is all a Jaccard
    comparison needs, and much smaller than keeping the tuples.
    """
    tokens = normalized_tokens(text)
    if len(tokens) < size:
        return frozenset(hash(t) for t in tokens)
    return frozenset(hash(tuple(tokens[i:i + size])) for i in range(len(tokens) - size + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """``|a & b| / |a | b|``; 0 when both are empty (no evidence of duplication)."""
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    inter = sum(1 for x in a if x in b)
    return inter / (len(a) + len(b) - inter)


class DuplicateChecker:
    """Flags candidates that duplicate one of the positives, exactly or nearly.

    Fingerprints are computed lazily, only for documents that show up as candidates or positives, and
    kept in a bounded LRU so a large corpus never has all its shingle sets in memory at once.

    Args:
        text_of: ``doc_id -> text`` (e.g. ``lambda d: corpus[d].full_text``).
        threshold: Jaccard similarity at or above which a candidate is a near-duplicate.
        shingle_size: Words per shingle.
        max_cached: Documents whose fingerprints are kept.

    Example:
        >>> texts = {"p": "Aspirin lowers the risk of heart attack in adults.",
        ...          "c": "aspirin lowers the risk of heart attack in adults",
        ...          "n": "Statins and muscle pain."}
        >>> checker = DuplicateChecker(texts.__getitem__)
        >>> checker.check("c", ["p"]), checker.check("n", ["p"])
        ('exact_duplicate', None)
    """

    def __init__(self, text_of: Callable[[str], str], threshold: float = 0.8, shingle_size: int = 3,
                 max_cached: int = 200_000) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.text_of = text_of
        self.threshold = threshold
        self.shingle_size = shingle_size
        self.max_cached = max_cached
        self._cache: OrderedDict[str, tuple[str, frozenset[int]]] = OrderedDict()

    def fingerprint(self, doc_id: str) -> tuple[str, frozenset[int]]:
        hit = self._cache.get(doc_id)
        if hit is not None:
            self._cache.move_to_end(doc_id)
            return hit
        text = self.text_of(doc_id)
        norm = normalized_text(text)
        value = (hashlib.blake2b(norm.encode("utf-8"), digest_size=16).hexdigest() if norm else "",
                 shingles(text, self.shingle_size))
        self._cache[doc_id] = value
        if len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)
        return value

    def similarity(self, a: str, b: str) -> float:
        return jaccard(self.fingerprint(a)[1], self.fingerprint(b)[1])

    def check(self, candidate: str, positives: Iterable[str]) -> str | None:
        """``"exact_duplicate"``, ``"near_duplicate"`` or ``None`` for ``candidate`` against ``positives``."""
        cand_hash, cand_shingles = self.fingerprint(candidate)
        near = False
        for pos in positives:
            pos_hash, pos_shingles = self.fingerprint(pos)
            if cand_hash and cand_hash == pos_hash:
                return "exact_duplicate"
            if not near and jaccard(cand_shingles, pos_shingles) >= self.threshold:
                near = True
        return "near_duplicate" if near else None
