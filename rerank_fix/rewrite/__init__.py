"""Query rewriting as a pipeline stage.

Backends (all behind one interface, results in one type):

- ``spell`` (default): offline typo correction against the corpus vocabulary; no model, works anywhere.
- ``openai``: any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama, llama.cpp server).
- ``llamacpp``: a local GGUF model through llama-cpp-python (``pip install rerank-fix[llamacpp]``).
- ``callable``: a Python function ``fn(messages) -> str``.

Typical use::

    from rerank_fix.rewrite import build_rewriter, RewriteConfig
    out = build_rewriter(RewriteConfig(), corpus=ds.corpus).rewrite(ds.queries)
    out.summary.counts          # {'rewritten': 38, 'unchanged': 5}
    out.texts()                 # query_id -> text to retrieve with (mode "replace")
    out.retrieval_queries()     # [original, rewritten] in mode "fuse", for RRF

Names are imported lazily so ``import rerank_fix.rewrite`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BackendOutput": "types",
    "RewriteResult": "types",
    "RewriteSummary": "types",
    "Message": "types",
    "ChatClient": "clients",
    "ChatClientError": "clients",
    "CallableClient": "clients",
    "load_callable": "clients",
    "OpenAIChatClient": "openai_compat",
    "LlamaCppClient": "llamacpp",
    "MissingExtraError": "llamacpp",
    "DiskCache": "cache",
    "Vocabulary": "vocab",
    "SpellRewriter": "spell",
    "SpellSettings": "spell",
    "Correction": "spell",
    "MaxTokensGate": "gates",
    "OOVTypoGate": "gates",
    "SelectedIdsGate": "gates",
    "AnyGate": "gates",
    "AllGate": "gates",
    "StratumGate": "gates",
    "sanitize": "sanitize",
    "rejection_reason": "sanitize",
    "RewriteConfig": "config",
    "PromptConfig": "config",
    "load_rewrite_config": "config",
    "QueryRewriter": "stage",
    "LLMRewriter": "stage",
    "RewriteBackend": "stage",
    "RewriteOutput": "stage",
    "build_rewriter": "factory",
    "build_backend": "factory",
    "build_gate": "factory",
    "typo_correction_report": "measure",
    "TypoCorrectionReport": "measure",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rerank_fix.rewrite' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rerank_fix.rewrite.{module}"), name)


def __dir__() -> list[str]:
    return __all__
