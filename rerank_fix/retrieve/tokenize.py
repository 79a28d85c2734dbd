"""A tokenizer for BM25 that also understands code identifiers.

``getUserName`` and ``get_user_name`` both yield ``get user name`` (plus the whole identifier), so that
keyword queries over source code (CoSQA) match the function names they describe.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain

# BM25's own word: unlike core.text.TOKEN a hyphen splits words (covid-19 -> covid, 19), and it stays
# exactly as it is because every BM25 score and run depends on it.
_WORD = re.compile(r"[A-Za-z0-9]+(?:[_'][A-Za-z0-9]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# A compact English stopword list (the common core of Lucene's and NLTK's lists).
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with what which who whom how when where why do does did i you he she we me my your "
    "our its from have has had been being were am can could should would so than too very s t just".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer  # PyStemmer: the Snowball stemmer that bm25s recommends
    except ImportError:  # stemming is an optional improvement, not a requirement
        return None
    stem_word = Stemmer.Stemmer("english").stemWord
    # A corpus repeats words endlessly; memoising the stem halves tokenization time.
    return lru_cache(maxsize=200_000)(stem_word)


def _is_compound(raw: str) -> bool:
    # Called once per word of the corpus, so only str methods (C loops), no per-character Python.
    if raw.isalpha():
        return not (raw.islower() or raw.isupper())  # camelCase
    return not raw.isdigit()  # snake_case, or letters mixed with digits


def split_identifier(token: str) -> list[str]:
    parts: list[str] = []
    for piece in token.split("_"):
        parts.extend(_CAMEL.findall(piece))
    return [p for p in parts if p]


def _word_tokens(raw: str, stem_word, stopwords: frozenset[str] | None, split_identifiers: bool) -> tuple[str, ...]:
    raw = raw.replace("'", "")
    words = [raw.lower()]
    if split_identifiers and _is_compound(raw):
        parts = split_identifier(raw)
        if len(parts) > 1:
            words.extend(p.lower() for p in parts)
    return tuple(stem_word(w) if stem_word else w for w in words if stopwords is None or w not in stopwords)


@lru_cache(maxsize=16)
def _word_table(stem: bool, stopwords: frozenset[str] | None, split_identifiers: bool):
    """One word's tokens, memoised per setting: a corpus repeats its words, so after the first sighting a
    word costs one C-level cache hit instead of lowercasing, splitting, filtering and stemming again."""
    stem_word = _stemmer() if stem else None

    @lru_cache(maxsize=500_000)
    def word_tokens(raw: str) -> tuple[str, ...]:
        return _word_tokens(raw, stem_word, stopwords, split_identifiers)

    return word_tokens


def tokenize(text: str, *, stem: bool = True, stopwords: frozenset[str] | None = STOPWORDS,
             split_identifiers: bool = True) -> list[str]:
    """Lower-cased word tokens; compound identifiers also contribute their parts.

    Args:
        text: Any text, prose or code.
        stem: Apply the English Snowball stemmer when PyStemmer is installed.
        stopwords: Words to drop; ``None`` keeps everything.
        split_identifiers: Split camelCase / snake_case into parts (the whole identifier is kept too).

    Example:
        >>> tokenize("def getUserName(user_id):", stem=False)
        ['def', 'getusername', 'get', 'user', 'name', 'user_id', 'user', 'id']
    """
    word_tokens = _word_table(stem, stopwords, split_identifiers)
    return list(chain.from_iterable(map(word_tokens, _WORD.findall(text))))
