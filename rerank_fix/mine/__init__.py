"""Hard-negative mining with false-negative filtering, and typo augmentation of training queries.

``rerank-fix mine`` is the command-line front end; the pieces are importable on their own:
:class:`HardNegativeMiner` (mining), :class:`MineConfig` (settings), :func:`make_typo` (query noise).
"""
from __future__ import annotations

from typing import Any

__all__ = ["HardNegativeMiner", "MineConfig", "MinedQuery", "MiningResult", "load_own_pairs", "make_typo"]

_WHERE = {
    "HardNegativeMiner": "rerank_fix.mine.miner",
    "MinedQuery": "rerank_fix.mine.miner",
    "MiningResult": "rerank_fix.mine.miner",
    "MineConfig": "rerank_fix.mine.config",
    "load_own_pairs": "rerank_fix.mine.inputs",
    "make_typo": "rerank_fix.core.typos",
}


def __getattr__(name: str) -> Any:
    # Lazy, so importing the package (e.g. for make_typo) does not pull in numpy-heavy modules.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
