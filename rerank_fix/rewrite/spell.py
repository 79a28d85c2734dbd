"""Offline rewriting with no LLM: spell correction against the corpus's own vocabulary (symspellpy)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from rerank_fix.core.text import english_words
from rerank_fix.core.typos import TypoJudge, word_spans
from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.types import BackendOutput
from rerank_fix.rewrite.vocab import Vocabulary


@dataclass(frozen=True)
class SpellSettings:
    """How eagerly the corrector changes words.

    Args:
        max_edit_distance: Largest Damerau-Levenshtein distance for a correction (words longer than
            ``short_word_len``).
        short_word_len: Words up to this length get at most one edit: short words have many neighbours two
            edits away, most of them wrong.
        min_word_len: Shorter words (``rn``, ``us``) are never touched.
        candidate_min_count: A word must occur this often in the corpus to be offered as a correction.
        rare_word_max_count: A word seen in the corpus at most this often may still be a typo (corpora contain
            typos too) and is corrected when a one-edit neighbour is ``rare_word_ratio`` times as frequent.
            0 leaves every corpus word alone.
        rare_word_ratio: See ``rare_word_max_count``.
        edit_penalty: Score lost per edit, in log-frequency units (noisy-channel weight of the error model).
        context_weight: Weight of how often the candidate follows/precedes its neighbours in the corpus.
        prefix_length: symspellpy's prefix length (memory/speed trade-off; 7 is its default).
        protected_words: Extra words never changed (lower case), e.g. product names.
        keep_names: Leave capitalised words after the first alone (``Galliformes``, ``Jamaica``): mid-query capitals
            mark names, which a corpus often lacks.
        english_known_words: Treat English words the corpus lacks ("what", "enter" in a small corpus; "harming",
            "acyclic" in a specialised one) as real words, using the 82,765-word frequency list shipped with
            symspellpy. Such a word is changed only on context evidence (``english_context_min_pairs``).
            Corrections always come from the corpus.
        english_min_count: Only list words at least this frequent (in the list's counts) count as English; 1 uses
            the whole list.
        english_context_min_pairs: An English word missing from the corpus is corrected to a one-edit neighbour
            only when that neighbour occurs next to the query's neighbouring words this often in the corpus
            (``sous vied`` -> ``sous vide``); otherwise it is left alone.
        english_common_count: English words at least this frequent in the list (about 22,000 words: ``what``,
            ``enter``) are never changed, whatever the context; "what" next to "is" must not become "that".

    Example:
        >>> SpellSettings(max_edit_distance=1).short_word_len
        7
    """

    max_edit_distance: int = 2
    short_word_len: int = 7
    min_word_len: int = 3
    candidate_min_count: int = 1
    rare_word_max_count: int = 3
    rare_word_ratio: float = 20.0
    edit_penalty: float = 4.0
    context_weight: float = 1.0
    prefix_length: int = 7
    protected_words: tuple[str, ...] = ()
    keep_names: bool = True
    english_known_words: bool = True
    english_min_count: int = 1
    english_context_min_pairs: int = 3
    english_common_count: int = 1_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_edit_distance <= 3:
            raise ConfigError(f"spell.max_edit_distance must be 1, 2 or 3, got {self.max_edit_distance}")
        if self.min_word_len < 1:
            raise ConfigError(f"spell.min_word_len must be at least 1, got {self.min_word_len}")
        if self.prefix_length <= self.max_edit_distance:
            raise ConfigError(f"spell.prefix_length ({self.prefix_length}) must exceed max_edit_distance "
                              f"({self.max_edit_distance})")
        if self.english_min_count < 1 or self.english_context_min_pairs < 1:
            raise ConfigError("spell.english_min_count and spell.english_context_min_pairs must be at least 1")
        if self.rare_word_ratio <= 1:
            raise ConfigError(f"spell.rare_word_ratio must be above 1, got {self.rare_word_ratio}")

@dataclass(frozen=True)
class Correction:
    """One changed word: where it was, what it became and how far apart they are."""

    start: int
    end: int
    original: str
    corrected: str
    distance: int


def _match_case(template: str, word: str) -> str:
    if template[:1].isupper() and template[1:].islower():
        return word[:1].upper() + word[1:]
    return word


class SpellRewriter:
    """Correct query typos towards words of the corpus; the default rewrite backend (no model needed).

    Numbers, ids and code (``14d``, ``v2``, ``ww1``, ``snake_case``, ``camelCase``, ``AML``, ``a.b``) and
    words the corpus contains are left alone. Other words are looked up with symspellpy in a dictionary
    built from corpus term frequencies; among candidates the one with the best
    ``-edit_penalty*distance + log(count) + context_weight*log(1 + pair counts with the neighbours)`` wins.
    Whitespace and punctuation of the query are kept as typed.

    Args:
        vocabulary: Corpus word counts (see :meth:`Vocabulary.from_corpus`).
        settings: Correction settings.

    Example:
        >>> vocab = Vocabulary.from_texts(["Goldfish grow to the size of their tank."] * 3)
        >>> SpellRewriter(vocab).correct("do golddish grow")
        'do goldfish grow'
    """

    name = "spell"
    sanitize_output = False

    def __init__(self, vocabulary: Vocabulary, settings: SpellSettings | None = None) -> None:
        self.vocabulary = vocabulary
        self.settings = settings or SpellSettings()
        # Corrections are the corpus words the typo model offers for an unseen (or rare) word.
        self.judge = TypoJudge(vocabulary.counts, max_edits=self.settings.max_edit_distance,
                               min_term_frequency=self.settings.candidate_min_count,
                               prefix_length=self.settings.prefix_length)
        try:
            self.judge.dictionary()
        except ImportError:
            raise ConfigError("the spell backend needs symspellpy; install it with `pip install symspellpy`") from None
        self._protected = {w.lower() for w in self.settings.protected_words}
        english = self.settings.english_known_words
        self._english = english_words(self.settings.english_min_count) if english else frozenset()
        self._common_english = english_words(self.settings.english_common_count) if english else frozenset()

    @classmethod
    def from_corpus(cls, corpus: Mapping[str, Any] | Iterable[Any], settings: SpellSettings | None = None,
                    show_progress: bool = False) -> SpellRewriter:
        """Build the vocabulary from ``corpus`` (``doc_id -> Document``, Documents or strings) and wrap it."""
        return cls(Vocabulary.from_corpus(corpus, show_progress=show_progress), settings)

    def _max_distance(self, word: str) -> int:
        return 1 if len(word) <= self.settings.short_word_len else self.settings.max_edit_distance

    def _candidates(self, word: str) -> list[Any]:
        s = self.settings
        count = self.vocabulary.count(word)
        if count == 0:
            return self.judge.suggestions(word, self._max_distance(word))
        if count > s.rare_word_max_count:
            return []
        # A rare corpus word (e.g. "efinition" from a truncated passage) next to a far more common one.
        return [c for c in self.judge.suggestions(word, 1)
                if c.distance == 1 and c.count >= s.rare_word_ratio * count]

    def _pairs(self, previous: str | None, term: str, following: str | None) -> int:
        """How often ``term`` follows ``previous`` plus how often ``following`` follows it, in the corpus."""
        return ((self.vocabulary.bigram(previous, term) if previous else 0)
                + (self.vocabulary.bigram(term, following) if following else 0))

    def corrections(self, text: str) -> list[Correction]:
        """The words of ``text`` that would change, in order."""
        s = self.settings
        spans = list(word_spans(text))
        out: list[Correction] = []
        previous: str | None = None
        for i, span in enumerate(spans):
            word = span.text.lower()
            chosen = word
            is_name = s.keep_names and i > 0 and span.text[:1].isupper()
            if (len(word) >= s.min_word_len and word not in self._protected and not span.text.isupper()
                    and not is_name):
                candidates = self._candidates(word)
                following = spans[i + 1].text.lower() if i + 1 < len(spans) else None
                if word in self._common_english:
                    candidates = []
                elif candidates and word in self._english:
                    # A real word the corpus lacks: change it only on context evidence ("sous vied" -> "vide").
                    candidates = [c for c in candidates if c.distance == 1
                                  and self._pairs(previous, c.term, following) >= s.english_context_min_pairs]
                if candidates:

                    def score(c: Any, prev: str | None = previous, nxt: str | None = following) -> float:
                        return (-s.edit_penalty * c.distance + math.log(c.count)
                                + s.context_weight * math.log1p(self._pairs(prev, c.term, nxt)))

                    best = max(candidates, key=score)
                    if best.term != word:
                        chosen = best.term
                        out.append(Correction(span.start, span.end, span.text, _match_case(span.text, best.term),
                                              best.distance))
            previous = chosen
        return out

    def correct(self, text: str) -> str:
        """``text`` with its typos corrected; everything else exactly as typed."""
        pieces: list[str] = []
        last = 0
        for c in self.corrections(text):
            pieces.append(text[last:c.start])
            pieces.append(c.corrected)
            last = c.end
        pieces.append(text[last:])
        return "".join(pieces)

    def rewrite_batch(self, queries: Sequence[str], progress: Callable[[], None] | None = None) -> list[BackendOutput]:
        """Backend interface: one :class:`BackendOutput` per query."""
        outputs = []
        for query in queries:
            start = time.perf_counter()
            text = self.correct(query)
            outputs.append(BackendOutput(text, None, (time.perf_counter() - start) * 1000))
            if progress is not None:
                progress()
        return outputs

    def __repr__(self) -> str:
        return f"SpellRewriter({self.vocabulary!r}, max_edit_distance={self.settings.max_edit_distance})"
