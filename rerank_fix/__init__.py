"""rerank_fix: measure whether a reranker helps on *your* corpus and query mix, and fix it when it does not.

The public API is deliberately small; everything else lives in focused modules:
data -> retrieve -> rerank / fuse / rewrite -> evaluate -> report, with mine / finetune / export beside them.
"""
from __future__ import annotations

from rerank_fix.errors import ConfigError, DataError, UserInputError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "UserInputError", "__version__", "load", "load_eval_set"]


def __getattr__(name: str):
    # Lazy so that `import rerank_fix` stays cheap (no datasets / torch import).
    if name == "load_eval_set":
        from rerank_fix.data import load_eval_set

        return load_eval_set
    if name == "load":
        from rerank_fix.deploy import load

        return load
    raise AttributeError(name)
