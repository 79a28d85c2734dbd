"""Typo augmentation of training queries, with the project's one typo model.

The miner's :func:`rerank_fix.mine.typos.make_typo` is used so that training sees the same kind of
noise that the typo evaluation measures.
"""
from __future__ import annotations

import random
from typing import Callable

TypoFn = Callable[[str, float, random.Random], str]

TYPO_FUNCTION = "rerank_fix.mine.typos.make_typo"


def typo_function() -> tuple[TypoFn, str]:
    """The typo model and its dotted name (recorded in the run's data stats and the model card).

    Example:
        >>> fn, name = typo_function()
        >>> fn("treatment of breast cancer", 0.2, random.Random(0)) != "treatment of breast cancer"
        True
    """
    from rerank_fix.mine.typos import make_typo

    return make_typo, TYPO_FUNCTION
