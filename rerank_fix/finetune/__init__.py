"""Fine-tune a cross-encoder reranker on mined triples, resumably, with dev-set selection.

Heavy libraries load only when a function is called, so importing this package stays cheap.

Example:
    >>> from rerank_fix.finetune import load_config, run_finetune  # doctest: +SKIP
    >>> result = run_finetune(load_config("configs/finetune/cpu-minilm.yaml"))  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

__all__ = ["FinetuneConfig", "FinetuneResult", "dry_run", "load_config", "read_triples", "run_finetune"]

_LAZY = {
    "FinetuneConfig": "rerank_fix.finetune.config",
    "load_config": "rerank_fix.finetune.config",
    "FinetuneResult": "rerank_fix.finetune.trainer",
    "run_finetune": "rerank_fix.finetune.trainer",
    "dry_run": "rerank_fix.finetune.dryrun",
    "read_triples": "rerank_fix.finetune.data",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
