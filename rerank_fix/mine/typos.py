"""Realistic character noise for queries: the project's one typo model.

The edits are the ones people make on a keyboard and the ones typo benchmarks simulate (the DL-typo
queries of CharacterBERT-DR): a neighbouring key hit instead of the right one, a letter dropped, two
letters swapped, a key pressed twice or a neighbour pressed too, and vowels left out (``mngmnt``).

What is never touched, because a corrupted identifier is a different query rather than a misspelled
one: tokens with digits (``p53``, ``COVID-19``, ``v2.1``), all-caps acronyms and mixed-case identifiers
(``BRCA``, ``mRNA``, ``getUserName``), tokens with ``_ / \\ @ # : . = +`` inside (paths, URLs, emails,
code), words shorter than three letters, and the first letter of every word (people rarely mistype
it, and keeping it keeps the word recognisable). Whitespace and punctuation stay where they are.
"""
from __future__ import annotations

import random
import re
from typing import Iterator, Mapping

# QWERTY neighbours (same row and the rows above/below).
_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
_VOWELS = frozenset("aeiouAEIOU")
_TOKEN = re.compile(r"\S+")
# The editable core of a token: letters, optionally joined by hyphens or apostrophes, with any leading
# and trailing punctuation left aside.
_CORE = re.compile(r"^(\W*)([^\W\d_]+(?:[-'][^\W\d_]+)*)(\W*)$")
_ID_CHARS = re.compile(r"[\d_/\\@#:.=+]")

# Per-letter edit mix; vowels are more often dropped than consonants.
_CONSONANT_OPS = (("neighbour", 0.35), ("delete", 0.2), ("swap", 0.25), ("insert", 0.2))
_VOWEL_OPS = (("neighbour", 0.25), ("delete", 0.35), ("swap", 0.2), ("insert", 0.2))


def _protected(token: str) -> bool:
    core = _CORE.match(token)
    if core is None or _ID_CHARS.search(core.group(2)):
        return True
    word = core.group(2)
    letters = [c for c in word if c.isalpha()]
    if len(letters) < 3:
        return True
    # Acronyms and identifiers: any capital after the first letter (BRCA, mRNA, iPhone, getUserName).
    return any(c.isupper() for c in word[1:])


def _neighbour(ch: str, rng: random.Random) -> str:
    options = _NEIGHBOURS.get(ch.lower())
    if not options:
        return ""
    sub = rng.choice(options)
    return sub.upper() if ch.isupper() else sub


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
        kept = [c for j, c in enumerate(chars) if j == 0 or c not in _VOWELS or not chars[j - 1].isalpha()]
        if 2 <= len(kept) < len(chars):
            return "".join(kept)
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
    doubled or neighbouring key, and dropped vowels. Digits, ids, acronyms, code-like tokens, words under
    three letters and first letters are protected (see the module docstring). When ``rate > 0`` and any
    word is editable, at least one edit is made, so a "typo query" always contains a typo. Deterministic
    for a given ``rng`` state; ``rng`` is the only source of randomness.

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
    editable: list[int] = []
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[last:match.start()])
        if not _protected(match.group(0)):
            editable.append(len(pieces))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(text[last:])
    if not editable:
        return text
    original = list(pieces)
    for idx in editable:
        lead, core, tail = _CORE.match(pieces[idx]).groups()  # type: ignore[union-attr]
        pieces[idx] = lead + _edit_word(core, rate, rng) + tail
    if pieces == original:
        # Force one edit that always changes the word: a neighbour key or a deletion.
        idx = rng.choice(editable)
        lead, core, tail = _CORE.match(pieces[idx]).groups()  # type: ignore[union-attr]
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
