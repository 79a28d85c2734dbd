"""A cross-encoder as ONNX files: export (torch.onnx) and dynamic int8 quantisation (onnxruntime).

Used by the ONNX scorer backend and by ``rerank-fix export``. Needs the optional ``export`` extra
(``pip install rerank-fix[export]``: onnx, onnxruntime; the default torch exporter also uses onnxscript).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from rerank_fix.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

logger = logging.getLogger("rerank_fix.export")

ONNX_FILE = "onnx/model.onnx"
INT8_FILE = "onnx/model_qint8.onnx"


def require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError("--onnx/--int8 need the optional export dependencies: pip install 'rerank-fix[export]' "
                          "(onnx, onnxruntime, onnxscript)") from None


def export_onnx(model: "CrossEncoder", path: Path, exporter: str = "dynamo") -> Path:
    """Write the sequence-classification model as ONNX with dynamic batch and sequence axes.

    Args:
        model: A *dedicated* loaded copy: exporting may leave the torch module altered, so never export
            the instance whose scores are the reference.
        path: Output ``.onnx`` file.
        exporter: ``dynamo`` (torch.export based, the supported path) or ``legacy`` (TorchScript tracing);
            ``dynamo`` falls back to ``legacy`` if it fails.
    """
    import torch

    hf = model.model.eval()
    tokenizer = model.tokenizer
    sample = tokenizer(["a query", "another query here"], ["a document", "a longer document for the example"],
                       padding=True, truncation=True, max_length=32, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Logits(torch.nn.Module):
        # Named inputs in a fixed order, so ONNX input names cannot be bound to the wrong tensors.
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, **extra).logits

    wrapped = Logits(hf)
    args = tuple(sample[n] for n in names)
    path.parent.mkdir(parents=True, exist_ok=True)
    if exporter == "dynamo":
        try:
            batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
            torch.onnx.export(wrapped, args, str(path), input_names=names, output_names=["logits"],
                              dynamic_shapes={n: {0: batch, 1: seq} for n in names}, dynamo=True,
                              external_data=False, verbose=False)
            return path
        except Exception as exc:  # the exporter raises many types; the legacy path is the fallback
            logger.warning("dynamo ONNX export failed (%s: %s); using the TorchScript exporter",
                           type(exc).__name__, str(exc).splitlines()[0][:200])
    with torch.no_grad():
        torch.onnx.export(wrapped, args, str(path), input_names=names, output_names=["logits"],
                          dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return path


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization of the ONNX weights (activations stay float, quantized at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs every tensor at INFO on the root logger; keep the console readable.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return target
