"""rerank_fix: measure whether a reranker helps on *your* corpus and query mix, and fix it when it does not.

The public API is deliberately small; everything else lives in focused modules, in layers. A module
imports only from its own layer or the layers below it, and no two modules import each other, directly or
in a circle (``tests/test_layering.py`` checks both). A ``__main__`` module is an entry point and sits on
top. The layers, lowest first (``name: packages and top-level modules``)::

    core: errors registry config_io outputs net core
    data: data models
    retrieve: retrieve
    stages: rerank fuse rewrite
    evaluate: evaluate
    train: mine finetune
    pipeline: pipeline
    output: report export deploy
    app: cli fix serve
"""
from __future__ import annotations

from rerank_fix.core.version import __version__
from rerank_fix.errors import ConfigError, DataError, UserInputError

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
