"""Small shared helpers with no dependencies: what a word is, the English word list and a percentile.

The project reads words out of text in three ways, each meaning something different; they are defined
here and nowhere else (BM25's own tokenizer, :mod:`rerank_fix.retrieve.tokenize`, is the one exception):

- :func:`query_tokens`: the terms of a query or document, numbers and ids included (``ww1``,
  ``covid-19``); length strata count them and the typo stratum judges them.
- :func:`letter_words` / :data:`LETTERS`: runs of letters of any script; the spell corrector's
  vocabulary counts them and the typo model corrects and edits them.
- :func:`word_chars`: ``\\w+`` runs, for comparing two texts (near-duplicates, a rewrite's overlap with
  its query), where digits and underscores are part of the word.

    >>> query_tokens("Why did the US enter WW1 (covid-19)?")
    ['why', 'did', 'the', 'us', 'enter', 'ww1', 'covid-19']
    >>> letter_words("Why did the US enter WW1?")
    ['why', 'did', 'the', 'us', 'enter', 'ww']
    >>> word_chars("snake_case v2.1")
    ['snake_case', 'v2', '1']
    >>> "evening" in english_words(100_000)
    True
    >>> percentile([10.0, 12.0, 30.0], 50)
    12.0
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Sequence

#: A query/document term: ASCII letters and digits, optionally joined by ``'``, ``_`` or ``-``.
TOKEN = re.compile(r"[A-Za-z0-9]+(?:['_-][A-Za-z0-9]+)*")
#: A run of letters (any script); digits, underscores and punctuation split words.
LETTERS = re.compile(r"[^\W\d_]+")
#: A run of word characters (letters, digits, underscore; any script).
WORD_CHARS = re.compile(r"\w+")


def query_tokens(text: str) -> list[str]:
    """Lower-cased :data:`TOKEN` terms of ``text``."""
    return [t.lower() for t in TOKEN.findall(text)]


def letter_words(text: str) -> list[str]:
    """Lower-cased :data:`LETTERS` runs of ``text``."""
    return [w.lower() for w in LETTERS.findall(text)]


def word_chars(text: str) -> list[str]:
    """The :data:`WORD_CHARS` runs of ``text``, as written (callers fold case and accents their own way)."""
    return WORD_CHARS.findall(text)


@lru_cache(maxsize=8)
def english_words(min_count: int = 1) -> frozenset[str]:
    """English words from symspellpy's frequency list (82,765 words with web-corpus counts), at least
    ``min_count`` frequent. The one word list of the project: typo strata and the spell rewriter use it."""
    from importlib.resources import files

    words = set()
    resource = files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    with resource.open("r", encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit() and int(parts[1]) >= min_count:
                words.add(parts[0].lower())
    return frozenset(words)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) without importing numpy; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
