"""Corpus vocabulary (word and word-pair counts) and the word spans a spell corrector may touch."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

#: Runs of letters (any script); digits, underscores and punctuation split words.
WORD_RE = re.compile(r"[^\W\d_]+")
_CHUNK_RE = re.compile(r"\S+")
_CAMEL_RE = re.compile(r"[^\W\d_]*[a-z][A-Z]")
# Chunks that look like paths, URLs, e-mails, dotted names or code: left exactly as typed.
_CODE_CHARS_RE = re.compile(r"[\w)\]][./:@#\\=<>{}\[\]|$%^&*+~][\w(\[]")


@dataclass(frozen=True)
class WordSpan:
    """A word a corrector may change, located in the query text.

    Args:
        start: Offset of the first character in the query.
        end: Offset just past the last character.
        text: The word as typed.
    """

    start: int
    end: int
    text: str


def is_protected_chunk(chunk: str) -> bool:
    """True for whitespace-separated chunks that are ids, numbers or code, not words.

    ``14d``, ``v2``, ``ww1``, ``snake_case``, ``camelCase``, ``AML``, ``EMAs``, ``foo.bar``, ``a/b``, ``x@y`` are
    protected; ``goldfish``, ``medicare's``, ``well-known`` and ``define?`` are not.
    """
    core = chunk.strip("\"'`()[]{}<>,;:!?.")
    if not core:
        return True
    if any(ch.isdigit() for ch in core) or "_" in core:
        return True
    if _CAMEL_RE.match(core):
        return True
    # Acronyms, also plural or mixed-case ones: AML, EMAs, MPCs, iOS.
    if sum(ch.isupper() for ch in core) >= 2:
        return True
    return bool(_CODE_CHARS_RE.search(core))


def word_spans(text: str) -> Iterator[WordSpan]:
    """The correctable words of ``text``: letter runs inside chunks that are not ids or code.

    Apostrophes and hyphens split words, so ``medicare's`` yields ``medicare`` and ``s``.

    Example:
        >>> [w.text for w in word_spans("why did the us enter ww1 via snake_case well-knwon")]
        ['why', 'did', 'the', 'us', 'enter', 'via', 'well', 'knwon']
    """
    for chunk in _CHUNK_RE.finditer(text):
        if is_protected_chunk(chunk.group()):
            continue
        for word in WORD_RE.finditer(chunk.group()):
            yield WordSpan(chunk.start() + word.start(), chunk.start() + word.end(), word.group())


def corpus_words(text: str) -> list[str]:
    """Lower-cased letter runs of a document, the unit the vocabulary counts."""
    return [w.lower() for w in WORD_RE.findall(text)]


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
            words = corpus_words(text)
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

    def oov_words(self, text: str, min_word_len: int = 3, max_count: int = 0) -> list[str]:
        """Correctable words of ``text`` seen at most ``max_count`` times in the corpus."""
        return [w.text for w in word_spans(text) if len(w.text) >= min_word_len and self.count(w.text) <= max_count]

    def __repr__(self) -> str:
        return f"Vocabulary(words={len(self.counts)}, bigrams={len(self.bigrams)})"
