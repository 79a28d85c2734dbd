"""Export a tuned reranker for production: safetensors + tokenizer + config loadable by
``CrossEncoder(path)``, a model card, optional ONNX / dynamic-int8 variants with a parity check.

Example:
    >>> from rerank_fix.export import export_model  # doctest: +SKIP
    >>> export_model("runs/finetune/cpu-minilm", "exported/minilm", onnx=True)  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

__all__ = ["ExportResult", "export_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from rerank_fix.export import exporter

        return getattr(exporter, name)
    raise AttributeError(name)
