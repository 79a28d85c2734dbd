"""Corpus vocabulary: word and word-pair counts, the dictionary of the spell rewriter and the typo gate."""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Iterator, Mapping

from rerank_fix.core.text import letter_words
# The words a corrector may touch are the typo model's; re-exported here for the spell rewriter's users.
from rerank_fix.core.typos import WordSpan, is_protected_chunk, word_spans

__all__ = ["Vocabulary", "WordSpan", "is_protected_chunk", "word_spans"]


class Vocabulary:
    """Word and adjacent-word-pair counts of a corpus: the dictionary for spell correction and OOV gating.

    Args:
        counts: word (lower case) -> corpus frequency.
        bigrams: ``(word, next_word)`` -> frequency; gives the corrector context. Optional.

    Example:
        >>> vocab = Vocabulary.from_texts(["Goldfish grow fast.", "Do goldfish grow in ponds?"])
        >>> vocab.count("goldfish"), vocab.bigram("goldfish", "grow"), "golddish" in vocab
        (2, 2, False)
    """

    def __init__(self, counts: Mapping[str, int], bigrams: Mapping[tuple[str, str], int] | None = None) -> None:
        self.counts: dict[str, int] = {w.lower(): int(c) for w, c in counts.items() if c > 0}
        self.bigrams: dict[tuple[str, str], int] = dict(bigrams or {})

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, with_bigrams: bool = True, max_bigrams: int = 5_000_000,
                   show_progress: bool = False, total: int | None = None) -> Vocabulary:
        """Count words (and word pairs) over ``texts``.

        Args:
            texts: Document texts.
            with_bigrams: Also count adjacent word pairs, for context-aware correction.
            max_bigrams: When the pair table grows past this, pairs seen once are dropped, bounding memory
                on large corpora at the cost of the rarest contexts.
            show_progress: Show a tqdm bar.
            total: Number of texts, for the progress bar.
        """
        counts: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        iterator: Iterable[str] = texts
        if show_progress:
            from tqdm.auto import tqdm

            iterator = tqdm(texts, total=total, desc="vocabulary", unit="doc")
        for text in iterator:
            words = letter_words(text)
            counts.update(words)
            if with_bigrams and len(words) > 1:
                pairs.update(zip(words, words[1:]))
                if len(pairs) > max_bigrams:
                    pairs = Counter({k: v for k, v in pairs.items() if v > 1})
        return cls(counts, pairs if with_bigrams else None)

    @classmethod
    def from_corpus(cls, corpus: Mapping[str, Any] | Iterable[Any], *, with_bigrams: bool = True,
                    show_progress: bool = False) -> Vocabulary:
        """Count over a corpus: a ``doc_id -> Document`` mapping, Documents, or plain strings."""
        items = corpus.values() if isinstance(corpus, Mapping) else corpus
        total = len(items) if hasattr(items, "__len__") else None

        def texts() -> Iterator[str]:
            for item in items:
                if isinstance(item, str):
                    yield item
                else:
                    full_text = getattr(item, "full_text", None)
                    if full_text is None:
                        full_text = f"{getattr(item, 'title', '')}\n{getattr(item, 'text', '')}"
                    yield full_text

        return cls.from_texts(texts(), with_bigrams=with_bigrams, show_progress=show_progress, total=total)

    def count(self, word: str) -> int:
        return self.counts.get(word.lower(), 0)

    def bigram(self, first: str, second: str) -> int:
        return self.bigrams.get((first.lower(), second.lower()), 0)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self.counts

    def __len__(self) -> int:
        return len(self.counts)

    def __repr__(self) -> str:
        return f"Vocabulary(words={len(self.counts)}, bigrams={len(self.bigrams)})"
