"""Small shared helpers with no dependencies: the English word list and a percentile.

    >>> "evening" in english_words(100_000)
    True
    >>> percentile([10.0, 12.0, 30.0], 50)
    12.0
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence


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
