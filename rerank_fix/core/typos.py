"""The project's one typo model: which words a typo can be in, when a word looks like a typo, and how
realistic typos are made.

- **Words.** :func:`word_spans` gives the words of a query a typo can be in: letter runs inside
  whitespace-separated chunks that are not ids, numbers or code (:func:`is_protected_chunk`). Typo
  generation edits a stricter subset (:func:`editable_word`): plain words of three or more letters.
- **Judging.** :class:`TypoJudge` decides, against a corpus vocabulary and a list of known words (the
  English word list), whether a word is *unseen* (the rewrite gate's test) and whether it is a *likely
  typo*: unseen, yet within a few edits of a frequent corpus word (the typo stratum's test). The spell
  rewriter looks its corrections up in the same judge.
- **Making typos.** :func:`make_typo` adds noise at a per-letter rate (mining and training
  augmentation); :func:`misspell` changes one or two words by one edit each (the bundled demo set).
  Both draw from one QWERTY keyboard and one set of edits: a neighbouring key, a dropped letter, two
  letters swapped, a doubled or extra key, and dropped vowels (``mngmnt``). Both are deterministic for
  a seeded ``random.Random``, and their outputs for a seed are part of the shipped data, so the order of
  every table here matters.

Example:
    >>> judge = TypoJudge({"goldfish": 5, "grow": 3}, known_words={"do"})
    >>> [w.text for w in word_spans("do golddish grow in v2?") if judge.unseen(w.text)]
    ['golddish']
    >>> judge.is_typo("golddish"), judge.is_typo("xylophone")
    (True, False)
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterator, Mapping

from rerank_fix.core.text import LETTERS

# ---------------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------------

_CHUNK = re.compile(r"\S+")
_CAMEL = re.compile(r"[^\W\d_]*[a-z][A-Z]")
# Chunks that look like paths, URLs, e-mails, dotted names or code: left exactly as typed.
_CODE_CHARS = re.compile(r"[\w)\]][./:@#\\=<>{}\[\]|$%^&*+~][\w(\[]")


@dataclass(frozen=True)
class WordSpan:
    """A word a typo can be in, located in the query text.

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

    Example:
        >>> is_protected_chunk("v2"), is_protected_chunk("goldfish?")
        (True, False)
    """
    core = chunk.strip("\"'`()[]{}<>,;:!?.")
    if not core:
        return True
    if any(ch.isdigit() for ch in core) or "_" in core:
        return True
    if _CAMEL.match(core):
        return True
    # Acronyms, also plural or mixed-case ones: AML, EMAs, MPCs, iOS.
    if sum(ch.isupper() for ch in core) >= 2:
        return True
    return bool(_CODE_CHARS.search(core))


def word_spans(text: str) -> Iterator[WordSpan]:
    """The words of ``text`` a typo can be in: letter runs inside chunks that are not ids or code.

    Apostrophes and hyphens split words, so ``medicare's`` yields ``medicare`` and ``s``.

    Example:
        >>> [w.text for w in word_spans("why did the us enter ww1 via snake_case well-knwon")]
        ['why', 'did', 'the', 'us', 'enter', 'via', 'well', 'knwon']
    """
    for chunk in _CHUNK.finditer(text):
        if is_protected_chunk(chunk.group()):
            continue
        for word in LETTERS.finditer(chunk.group()):
            yield WordSpan(chunk.start() + word.start(), chunk.start() + word.end(), word.group())


# The editable core of a chunk: letter runs joined by hyphens or apostrophes, with any leading and
# trailing punctuation left aside.
_EDITABLE = re.compile(rf"^(\W*)({LETTERS.pattern}(?:[-'][^\W\d_]+)*)(\W*)$")
_ID_CHARS = re.compile(r"[\d_/\\@#:.=+]")


def editable_word(chunk: str) -> tuple[str, str, str] | None:
    """``(leading punctuation, word, trailing punctuation)`` when typo generation may edit ``chunk``.

    Stricter than detection: a chunk :func:`is_protected_chunk` calls an id is never edited, and the word
    must also be letters joined by ``-`` or ``'``, have at least three letters, and no capital after its
    first letter (``BRCA``, ``mRNA``, ``iPhone``, ``e-Mail`` are names or ids; a typo there makes another
    query).

    Example:
        >>> editable_word("(treatment),"), editable_word("mRNA"), editable_word("p53"), editable_word("Met¹⁴⁹")
        (('(', 'treatment', '),'), None, None, None)
    """
    match = _EDITABLE.match(chunk)
    if match is None or _ID_CHARS.search(match.group(2)) or is_protected_chunk(chunk):
        return None
    word = match.group(2)
    if sum(c.isalpha() for c in word) < 3 or any(c.isupper() for c in word[1:]):
        return None
    return match.group(1), word, match.group(3)


# ---------------------------------------------------------------------------------------------------
# Judging
# ---------------------------------------------------------------------------------------------------


class TypoJudge:
    """Judges words against a corpus vocabulary: unseen, likely typo, and the corpus words nearby.

    Args:
        vocabulary: Corpus word (lower case) -> frequency.
        known_words: Words that are never typos although the corpus lacks them (common English,
            product names); compared in lower case.
        min_word_length: Shorter words are never unseen nor typos (acronyms, particles; too many near
            neighbours).
        max_count: Words seen this often or less in the corpus count as unseen.
        max_edits: Largest Damerau-Levenshtein distance to a corpus word, for :meth:`is_typo` and the
            size of the lookup dictionary.
        min_term_frequency: Corpus words rarer than this are not offered as the intended spelling.
        prefix_length: symspellpy's prefix length (memory/speed trade-off; 7 is its default).
        dictionary_filter: Only corpus words it accepts are offered as intended spellings.

    Example:
        >>> judge = TypoJudge({"password": 9, "reset": 4}, min_term_frequency=3)
        >>> judge.unseen("pasword"), judge.is_typo("pasword"), judge.suggestions("pasword", 2)[0].term
        (True, True, 'password')
    """

    def __init__(self, vocabulary: Mapping[str, int], *, known_words: Collection[str] = frozenset(),
                 min_word_length: int = 3, max_count: int = 0, max_edits: int = 2, min_term_frequency: int = 1,
                 prefix_length: int = 7, dictionary_filter: Callable[[str], bool] | None = None) -> None:
        self.vocabulary = vocabulary
        self.known_words = frozenset(w.lower() for w in known_words)
        self.min_word_length, self.max_count = min_word_length, max_count
        self.max_edits, self.min_term_frequency, self.prefix_length = max_edits, min_term_frequency, prefix_length
        self.dictionary_filter = dictionary_filter
        self._symspell: Any = None

    def count(self, word: str) -> int:
        """How often ``word`` (any case) occurs in the corpus."""
        return self.vocabulary.get(word.lower(), 0)

    def unseen(self, word: str) -> bool:
        """Long enough, not a known word, and seen in the corpus at most ``max_count`` times."""
        return (len(word) >= self.min_word_length and self.count(word) <= self.max_count
                and word.lower() not in self.known_words)

    def dictionary(self) -> Any:
        """The symspellpy dictionary of intended spellings, built on first use."""
        if self._symspell is None:
            from symspellpy import SymSpell

            sym = SymSpell(max_dictionary_edit_distance=self.max_edits, prefix_length=self.prefix_length)
            keep = self.dictionary_filter
            for term, count in self.vocabulary.items():
                if count >= self.min_term_frequency and (keep is None or keep(term)):
                    sym.create_dictionary_entry(term, count)
            self._symspell = sym
        return self._symspell

    def suggestions(self, word: str, max_distance: int, best_only: bool = False) -> list[Any]:
        """Corpus words within ``max_distance`` edits of ``word`` (symspellpy ``SuggestItem``s: ``term``,
        ``distance``, ``count``), closest and most frequent first; only the best ones with ``best_only``."""
        from symspellpy import Verbosity

        verbosity = Verbosity.TOP if best_only else Verbosity.ALL
        return self.dictionary().lookup(word, verbosity, max_edit_distance=max_distance)

    def is_typo(self, word: str) -> bool:
        """Unseen, yet within ``max_edits`` of a corpus word: most likely that word, mistyped."""
        if not self.unseen(word):
            return False
        best = self.suggestions(word.lower(), self.max_edits, best_only=True)
        return bool(best) and best[0].distance >= 1


# ---------------------------------------------------------------------------------------------------
# Making typos
# ---------------------------------------------------------------------------------------------------

QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: Each key's neighbours on a QWERTY keyboard (same row, and the rows above and below). The order within a
#: string is as first written: :func:`make_typo` picks by position, so its seeded output depends on it.
KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
_KEY_POSITION = {c: (r, i) for r, row in enumerate(QWERTY_ROWS) for i, c in enumerate(row)}
# The same neighbours in reading order (row by row, left to right): the order :func:`misspell` picks from.
_NEIGHBOURS_READING_ORDER = {c: "".join(sorted(keys, key=_KEY_POSITION.__getitem__))
                             for c, keys in KEYBOARD_NEIGHBOURS.items()}
_VOWELS = frozenset("aeiouAEIOU")

# make_typo's per-letter edit mix; vowels are more often dropped than consonants.
_CONSONANT_OPS = (("neighbour", 0.35), ("delete", 0.2), ("swap", 0.25), ("insert", 0.2))
_VOWEL_OPS = (("neighbour", 0.25), ("delete", 0.35), ("swap", 0.2), ("insert", 0.2))


def _neighbour(ch: str, rng: random.Random, table: Mapping[str, str] = KEYBOARD_NEIGHBOURS) -> str:
    """A random keyboard neighbour of ``ch`` in its case; ``""`` for a key with none (é, ß, digits)."""
    options = table.get(ch.lower())
    if not options:
        return ""
    sub = rng.choice(options)
    return sub.upper() if ch.isupper() else sub


def drop_vowels(word: str) -> str:
    """``word`` without the vowels that follow a letter (``management`` -> ``mngmnt``)."""
    return "".join(c for j, c in enumerate(word) if j == 0 or c not in _VOWELS or not word[j - 1].isalpha())


def _edit_letter(chars: list[str], i: int, op: str, rng: random.Random) -> int:
    """Apply ``op`` at ``chars[i]`` in place; return the index to continue from (edits never cascade)."""
    ch = chars[i]
    if op == "neighbour":
        sub = _neighbour(ch, rng)
        if sub:
            chars[i] = sub
            return i + 1
        op = "delete"  # a letter with no QWERTY neighbour (é, ß ...) is dropped instead
    if op == "swap" and i + 1 < len(chars) and chars[i + 1].isalpha() and chars[i + 1] != ch:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return i + 2
    if op == "insert":
        extra = _neighbour(ch, rng) if rng.random() < 0.5 else ch
        chars.insert(i + 1, extra or ch)
        return i + 2
    del chars[i]
    return i


def _edit_word(word: str, rate: float, rng: random.Random) -> str:
    chars = list(word)
    # Dropping every inner vowel is one edit of its own kind ("mngmnt"), rarer than single-letter edits.
    if len(chars) >= 5 and rng.random() < rate / 2:
        kept = drop_vowels(word)
        if 2 <= len(kept) < len(chars):
            return kept
    i = 1
    while i < len(chars):
        ch = chars[i]
        if ch.isalpha() and chars[i - 1].isalpha() and rng.random() < rate:
            ops = _VOWEL_OPS if ch in _VOWELS else _CONSONANT_OPS
            op = rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
            i = _edit_letter(chars, i, op, rng)
            continue
        i += 1
    return "".join(chars)


def make_typo(text: str, rate: float, rng: random.Random) -> str:
    """Return ``text`` with realistic typos at about ``rate`` edits per editable letter.

    Edits: QWERTY-neighbour substitution, deletion, transposition of adjacent letters, insertion of a
    doubled or neighbouring key, and dropped vowels. Only :func:`editable_word` chunks are edited, never
    their first letter (people rarely mistype it, and keeping it keeps the word recognisable); whitespace
    and punctuation stay where they are. When ``rate > 0`` and any word is editable, at least one edit is
    made, so a "typo query" always contains a typo. ``rng`` is the only source of randomness.

    Args:
        text: The query.
        rate: Per-letter edit probability, in ``[0, 1]``; 0 returns ``text`` unchanged.
        rng: A seeded ``random.Random``.

    Example:
        >>> make_typo("treatment of BRCA1 breast cancer", 0.1, random.Random(3))
        'treatjent of BRCA1 breast cancre'
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"typo rate must be between 0 and 1, got {rate}")
    if rate == 0.0 or not text:
        return text
    pieces: list[str] = []
    editable: dict[int, tuple[str, str, str]] = {}
    last = 0
    for match in _CHUNK.finditer(text):
        pieces.append(text[last:match.start()])
        parts = editable_word(match.group(0))
        if parts is not None:
            editable[len(pieces)] = parts
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(text[last:])
    if not editable:
        return text
    original = list(pieces)
    for idx, (lead, core, tail) in editable.items():
        pieces[idx] = lead + _edit_word(core, rate, rng) + tail
    if pieces == original:
        # Force one edit that always changes the word: a neighbour key or a deletion.
        idx = rng.choice(list(editable))
        lead, core, tail = editable[idx]
        chars = list(core)
        positions = [j for j in range(1, len(chars)) if chars[j].isalpha() and chars[j - 1].isalpha()]
        j = rng.choice(positions)
        _edit_letter(chars, j, rng.choice(("neighbour", "delete")), rng)
        pieces[idx] = lead + "".join(chars) + tail
    return "".join(pieces)


def typo_variants(queries: Mapping[str, str], rate: float, copies: int = 1,
                  seed: int = 42) -> Iterator[tuple[str, str, str]]:
    """Yield ``(new_query_id, source_query_id, noisy_text)`` for ``copies`` typo versions of each query.

    New ids are ``<query_id>#typo<k>``. Each (query, copy) has its own seeded stream, so a query's typo
    text does not depend on which other queries are present. Copies that come out identical to the
    clean query or to an earlier copy (nothing editable) are skipped.

    Example:
        >>> next(typo_variants({"q1": "vitamin deficiency symptoms"}, 0.1, seed=0))[0]
        'q1#typo1'
    """
    for qid, text in queries.items():
        seen = {text}
        for k in range(1, copies + 1):
            noisy = make_typo(text, rate, random.Random(f"{seed}:typo:{qid}:{k}"))
            if noisy in seen:
                continue
            seen.add(noisy)
            yield f"{qid}#typo{k}", qid, noisy


_MISSPELLABLE = re.compile(r"[A-Za-z]{4,}")


def _misspell_word(w: str, rng: random.Random) -> str:
    ops = ["delete", "swap", "neighbour", "vowels"]
    weights = [3, 3, 3, 1.5 if sum(c in "aeiou" for c in w[1:]) >= 2 and len(w) >= 5 else 0]
    op = rng.choices(ops, weights)[0]
    if op == "delete":
        i = rng.randrange(1, len(w))
        return w[:i] + w[i + 1:]
    if op == "swap":
        i = rng.randrange(1, len(w) - 1)
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    if op == "neighbour":
        i = rng.choice([i for i in range(1, len(w)) if w[i].lower() in _NEIGHBOURS_READING_ORDER])
        return w[:i] + _neighbour(w[i], rng, _NEIGHBOURS_READING_ORDER) + w[i + 1:]
    return drop_vowels(w)


def misspell(text: str, rng: random.Random) -> str:
    """Corrupt one word (seven times in ten) or two of ``text`` by one edit each, the way people mistype
    into a search box: a dropped letter, two letters swapped, a neighbouring key, or dropped vowels. Only
    ASCII words of four or more letters are touched, never their first letter; ``text`` needs one.

    Example:
        >>> misspell("reset my password", random.Random(1))
        'rese my password'
    """
    spans = [m.span() for m in _MISSPELLABLE.finditer(text)]
    n = 1 if len(spans) == 1 or rng.random() < 0.7 else 2
    out = text
    for a, b in sorted(rng.sample(spans, n), reverse=True):
        word = out[a:b]
        new = _misspell_word(word, rng)
        for _ in range(5):
            if new != word:
                break
            new = _misspell_word(word, rng)
        out = out[:a] + new + out[b:]
    return out
