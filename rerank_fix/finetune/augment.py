"""Typo augmentation for training queries.

The miner's ``rerank_fix.mine.typos.make_typo`` is the project's one typo model, so training sees the
same kind of noise that the typo evaluation measures; :func:`add_typos` is only used when that module
is not installed.
"""
from __future__ import annotations

import random
import string
from typing import Callable

TypoFn = Callable[[str, float, random.Random], str]

# QWERTY neighbours: substitutions a real typist makes, rather than uniform random letters.
_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "a": "qsz", "s": "awdz", "d": "sefx", "f": "drgc", "g": "fthv", "h": "gyjb",
    "j": "hukn", "k": "jilm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn",
    "n": "bhjm", "m": "njk",
}


def add_typos(text: str, rate: float, rng: random.Random) -> str:
    """Corrupt letters of ``text`` with keyboard-style typos.

    Each letter is, with probability ``rate``, swapped with its right neighbour, dropped, doubled, or
    replaced by an adjacent QWERTY key. The first letter of each word is left alone (people rarely
    mistype it and it keeps words recognisable). Deterministic given ``rng``.

    Args:
        text: The query.
        rate: Per-letter corruption probability.
        rng: Source of randomness (seed it for reproducible augmentation).

    Example:
        >>> add_typos("rotate the api key", 0.3, random.Random(0)) != "rotate the api key"
        True
    """
    chars = list(text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        ch = chars[i]
        word_start = i == 0 or not chars[i - 1].isalnum()
        if ch.lower() in string.ascii_lowercase and not word_start and rng.random() < rate:
            op = rng.randrange(4)
            if op == 0 and i + 1 < len(chars) and chars[i + 1].isalpha():
                out.extend([chars[i + 1], ch])
                i += 2
                continue
            if op == 1:
                i += 1
                continue
            if op == 2:
                out.extend([ch, ch])
                i += 1
                continue
            sub = rng.choice(_NEIGHBOURS.get(ch.lower(), ch.lower()))
            out.append(sub.upper() if ch.isupper() else sub)
            i += 1
            continue
        out.append(ch)
        i += 1
    result = "".join(out)
    return result if result.strip() else text


def typo_function() -> tuple[TypoFn, str]:
    """The typo model to use and where it comes from: the miner's when present, else :func:`add_typos`."""
    try:
        from rerank_fix.mine.typos import make_typo
    except ImportError:
        return add_typos, "rerank_fix.finetune.augment.add_typos"
    return make_typo, "rerank_fix.mine.typos.make_typo"
