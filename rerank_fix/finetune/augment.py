"""Typo augmentation of training queries, with the project's one typo model.

:func:`rerank_fix.core.typos.make_typo` is used so that training sees the same kind of noise that the
miner adds and the typo evaluation measures.
"""
from __future__ import annotations

import random
from typing import Callable

from rerank_fix.core.typos import make_typo

TypoFn = Callable[[str, float, random.Random], str]

#: The typo model's dotted name, recorded in the run's data stats and the model card.
TYPO_FUNCTION = f"{make_typo.__module__}.{make_typo.__qualname__}"


def typo_function() -> tuple[TypoFn, str]:
    """The typo model and its dotted name (recorded in the run's data stats and the model card).

    Example:
        >>> fn, name = typo_function()
        >>> name, fn("treatment of breast cancer", 0.2, random.Random(0)) != "treatment of breast cancer"
        ('rerank_fix.core.typos.make_typo', True)
    """
    return make_typo, TYPO_FUNCTION
