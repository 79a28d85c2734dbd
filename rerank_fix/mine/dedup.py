"""Near-duplicate detection between a candidate negative and the query's positives.

A corpus often holds the same passage twice (a reprint, a second version, a boilerplate-prefixed copy);
when one copy is judged relevant the other is an unlabeled positive, and training on it as a negative
teaches the reranker to contradict itself. Two checks, both cheap and exact (no MinHash sampling):

- exact: equal hashes of the normalised text (Unicode NFKC, case-folded, punctuation and whitespace
  collapsed), so formatting-only differences count as the same text;
- near: Jaccard similarity of word-shingle sets at or above a threshold.

Shingles are stored as sorted arrays of 64-bit hashes. Sorting by hash is a random global order, which
makes prefix filtering (Chaudhuri et al. 2006; Xiao et al. 2008, PPJoin) available: two sets with
Jaccard >= t must share an element within their first ``|x| - ceil(t |x|) + 1`` elements. That exact
test, vectorised over a query's candidates, leaves only the rare real contenders for the full
intersection.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import unicodedata
from typing import Callable, Iterable

import numpy as np

from rerank_fix.core.text import word_chars

# For ASCII text, mapping every non-word character to a space and splitting gives exactly the \w+ tokens,
# several times faster than the regex.
_ASCII_NON_WORD = str.maketrans({chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")})


def normalized_tokens(text: str) -> list[str]:
    """Case-folded ``\\w+`` words of the NFKC-normalised text."""
    if text.isascii():
        return text.lower().translate(_ASCII_NON_WORD).split()
    return word_chars(unicodedata.normalize("NFKC", text).casefold())


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


def shingle_arrays(token_lists: list[list[str]], size: int) -> list[np.ndarray]:
    """Sorted unique int64 hashes of each text's word ``size``-grams (single words for shorter texts).

    All texts are processed in one pass over a flat array, so the per-text cost is a slice, not a handful
    of numpy calls: fingerprinting a whole query block's candidates costs about as much as tokenizing them.
    """
    n = len(token_lists)
    if n == 0:
        return []
    lens = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
    total = int(lens.sum())
    flat = np.fromiter(map(hash, itertools.chain.from_iterable(token_lists)), dtype=np.int64, count=total)
    doc = np.repeat(np.arange(n), lens)
    pos = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    doc_len = lens[doc]
    if size > 1:
        padded = np.concatenate([flat, np.zeros(size - 1, dtype=np.int64)])
        mixed = flat.copy()
        for offset in range(1, size):
            # Position-weighted mixing; int64 arithmetic wraps around, which is fine for a hash.
            mixed = mixed * np.int64(1_000_003) ^ padded[offset:offset + total]
        long_doc = doc_len >= size
        keep = np.where(long_doc, pos <= doc_len - size, True)
        values = np.where(long_doc, mixed, flat)[keep]
        doc = doc[keep]
    else:
        values = flat
    counts = np.bincount(doc, minlength=n)
    # Sorting each text's slice is far cheaper than one lexsort over (text, hash) for the whole batch.
    values = np.concatenate([np.sort(part) for part in np.split(values, np.cumsum(counts)[:-1])])
    first = np.ones(len(values), dtype=bool)
    first[1:] = (values[1:] != values[:-1]) | (doc[1:] != doc[:-1])
    values, doc = values[first], doc[first]
    counts = np.bincount(doc, minlength=n)
    return np.split(values, np.cumsum(counts)[:-1])


def _shingle_array(tokens: list[str], size: int) -> np.ndarray:
    return shingle_arrays([tokens], size)[0]


def shingles(text: str, size: int = 3) -> np.ndarray:
    """Hashed word ``size``-grams of the normalised text, as a sorted array of unique int64 values.

    Texts shorter than ``size`` words use single words. Hashes are Python's string hashes: stable within
    a process, which is all a Jaccard comparison needs, and far smaller than the shingles themselves.
    """
    return _shingle_array(normalized_tokens(text), size)


def prefix_length(size: int, threshold: float) -> int:
    """Elements of a sorted set that must overlap with another's for Jaccard >= ``threshold`` to be possible."""
    return size - math.ceil(threshold * size - 1e-9) + 1 if size else 0


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """``|a & b| / |a | b|`` of two sorted unique arrays; 0 when either is empty (no evidence)."""
    if not len(a) or not len(b):
        return 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (len(a) + len(b) - inter)


class DuplicateChecker:
    """Flags candidates that duplicate one of the positives, exactly or nearly.

    Fingerprints are computed lazily, only for documents that show up as candidates or positives, and
    kept in a bounded cache (oldest out first) so a large corpus never has all its shingle sets in memory at once.

    Args:
        text_of: ``doc_id -> text`` (e.g. ``lambda d: corpus[d].full_text``).
        threshold: Jaccard similarity at or above which a candidate is a near-duplicate.
        shingle_size: Words per shingle.
        max_cached: Documents whose fingerprints are kept.
        batch_docs: Documents fingerprinted together by :meth:`prepare`.

    Example:
        >>> texts = {"p": "Aspirin lowers the risk of heart attack in adults.",
        ...          "c": "aspirin lowers the risk of heart attack in adults",
        ...          "n": "Statins and muscle pain."}
        >>> checker = DuplicateChecker(texts.__getitem__)
        >>> checker.check("c", ["p"]), checker.check("n", ["p"])
        ('exact_duplicate', None)
    """

    def __init__(self, text_of: Callable[[str], str], threshold: float = 0.8, shingle_size: int = 3,
                 max_cached: int = 200_000, batch_docs: int = 1024) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.text_of = text_of
        self.threshold = threshold
        self.shingle_size = shingle_size
        self.max_cached = max_cached
        self.batch_docs = batch_docs
        self._cache: dict[str, tuple[str, np.ndarray]] = {}

    def prepare(self, doc_ids: Iterable[str]) -> None:
        """Fingerprint every not-yet-cached document of ``doc_ids`` in one batch."""
        cache = self._cache
        todo = list(dict.fromkeys(d for d in doc_ids if d not in cache))
        # Chunks bound the temporary arrays of one batch (a few dozen bytes per word).
        for start in range(0, len(todo), self.batch_docs):
            chunk = todo[start:start + self.batch_docs]
            token_lists = [normalized_tokens(self.text_of(d)) for d in chunk]
            arrays = shingle_arrays(token_lists, self.shingle_size)
            overflow = len(cache) + len(chunk) - self.max_cached
            if overflow > 0:
                # Oldest first out: cheaper than LRU bookkeeping on every hit, and mining visits documents
                # in no particular order anyway.
                for key in list(itertools.islice(cache, overflow)):
                    del cache[key]
            for doc_id, tokens, arr in zip(chunk, token_lists, arrays):
                digest = hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=16).hexdigest() if tokens else ""
                # A copy, so one evicted entry does not keep its whole batch's buffer alive.
                cache[doc_id] = (digest, arr.copy())

    def fingerprint(self, doc_id: str) -> tuple[str, np.ndarray]:
        """``(normalised-text hash, shingle array)``; the hash is ``""`` for a text with no words."""
        hit = self._cache.get(doc_id)
        if hit is None:
            self.prepare([doc_id])
            hit = self._cache[doc_id]
        return hit

    def similarity(self, a: str, b: str) -> float:
        return jaccard(self.fingerprint(a)[1], self.fingerprint(b)[1])

    def check(self, candidate: str, positives: Iterable[str]) -> str | None:
        """``"exact_duplicate"``, ``"near_duplicate"`` or ``None`` for ``candidate`` against ``positives``."""
        return self.check_many([candidate], list(positives))[0]

    def check_many(self, candidates: list[str], positives: list[str]) -> list[str | None]:
        """:meth:`check` for many candidates of one query at once (length and prefix filters vectorised).

        Documents not yet fingerprinted are done one by one; call :meth:`prepare` first to batch them.
        """
        pos_prints = [self.fingerprint(p) for p in positives]
        pos_hashes = {h for h, _ in pos_prints if h}
        cand_prints = [self.fingerprint(c) for c in candidates]
        out: list[str | None] = ["exact_duplicate" if h and h in pos_hashes else None for h, _ in cand_prints]
        open_idx = [i for i, v in enumerate(out) if v is None and len(cand_prints[i][1])]
        if not open_idx:
            return out
        t = self.threshold
        sizes = np.array([len(cand_prints[i][1]) for i in open_idx])
        plens = [prefix_length(int(n), t) for n in sizes]
        prefixes = np.concatenate([cand_prints[i][1][:k] for i, k in zip(open_idx, plens)])
        owners = np.repeat(np.arange(len(open_idx)), plens)
        near = np.zeros(len(open_idx), dtype=bool)
        for _, pos_shingles in pos_prints:
            m = len(pos_shingles)
            if not m:
                continue
            # Length filter: Jaccard >= t needs the smaller set to be at least t x the larger one.
            fits = np.minimum(sizes, m) >= t * np.maximum(sizes, m)
            pos_prefix = pos_shingles[:prefix_length(m, t)]
            where = np.minimum(np.searchsorted(pos_prefix, prefixes), len(pos_prefix) - 1)
            shares = np.zeros(len(open_idx), dtype=bool)
            shares[owners[pos_prefix[where] == prefixes]] = True
            for j in np.flatnonzero(fits & shares & ~near).tolist():
                if jaccard(cand_prints[open_idx[j]][1], pos_shingles) >= t:
                    near[j] = True
        for j in np.flatnonzero(near).tolist():
            out[open_idx[j]] = "near_duplicate"
        return out
