"""ONNX export, dynamic int8 quantization, and the parity check that gates both.

Needs the optional ``export`` extra (``pip install rerank-fix[export]``: onnx, onnxruntime; the default
torch exporter also uses onnxscript).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from rerank_fix.errors import ConfigError, UserInputError
from rerank_fix.rerank.base import Reranker

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

logger = logging.getLogger("rerank_fix.export")

ONNX_FILE = "onnx/model.onnx"
INT8_FILE = "onnx/model_qint8.onnx"
MIN_CORRELATION = 0.99
MAX_NDCG_DROP = 0.005


class ExportParityError(UserInputError):
    """An exported variant scores differently from the PyTorch model; the export is refused.

    Args:
        message: The failing variant, its Pearson correlation and nDCG@10 drop, and the limits.

    Example:
        >>> raise ExportParityError("onnx-int8-dynamic fails the parity check ...")  # doctest: +SKIP
    """


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


class OnnxReranker(Reranker):
    """Score pairs with an ONNX file through onnxruntime, with the model's own tokenizer.

    Args:
        onnx_path: The ``.onnx`` file.
        tokenizer: A transformers tokenizer (the exported model's).
        max_length: Truncation length, as the torch model uses it.
        batch_size: Pairs per run.

    Example:
        >>> r = OnnxReranker("exported/onnx/model.onnx", model.tokenizer, 256)  # doctest: +SKIP
        >>> r.score([("query", "document")])  # doctest: +SKIP
    """

    def __init__(self, onnx_path: str | Path, tokenizer, max_length: int, batch_size: int = 32,
                 name: str = "onnx") -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.name = name

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        out = []
        for start in range(0, len(pairs), self.batch_size):
            batch = pairs[start:start + self.batch_size]
            enc = self.tokenizer([q for q, _ in batch], [d for _, d in batch], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
            feed = {name: enc[name].astype(np.int64) for name in self.inputs}
            out.append(self.session.run(None, feed)[0].reshape(len(batch), -1)[:, 0])
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


@dataclass
class Parity:
    """How an exported variant compares with the torch model on the dev split.

    Args:
        variant / file: Which export (``onnx-fp32``, ``onnx-int8-dynamic``) and its path in the folder.
        pairs / queries: How many dev pairs and queries were scored.
        correlation: Pearson correlation of the variant's logits with torch's.
        max_abs_diff: Largest logit difference.
        ndcg_torch / ndcg_variant: Dev nDCG@10 of the reranked stage-one candidates, each scorer.

    Example:
        >>> import numpy as np
        >>> parity("onnx-fp32", "onnx/model.onnx", np.arange(5.0), np.arange(5.0), 0.7, 0.7, 3).passed
        True
    """

    variant: str
    file: str
    pairs: int
    correlation: float
    max_abs_diff: float
    ndcg_torch: float
    ndcg_variant: float
    queries: int

    @property
    def ndcg_drop(self) -> float:
        return self.ndcg_torch - self.ndcg_variant

    @property
    def passed(self) -> bool:
        return self.correlation >= MIN_CORRELATION and self.ndcg_drop <= MAX_NDCG_DROP

    def as_dict(self) -> dict:
        return {"variant": self.variant, "file": self.file, "pairs": self.pairs, "queries": self.queries,
                "pearson": self.correlation, "max_abs_diff": self.max_abs_diff, "ndcg@10_torch": self.ndcg_torch,
                "ndcg@10_variant": self.ndcg_variant, "ndcg@10_drop": self.ndcg_drop, "passed": self.passed,
                "thresholds": {"min_pearson": MIN_CORRELATION, "max_ndcg@10_drop": MAX_NDCG_DROP}}


def parity(variant: str, file: str, reference: np.ndarray, candidate: np.ndarray, ndcg_torch: float,
           ndcg_variant: float, queries: int) -> Parity:
    if len(reference) < 2:
        raise ExportParityError("the parity check needs at least two scored pairs; the dev split gave fewer")
    if np.std(reference) == 0 or np.std(candidate) == 0:
        corr = 1.0 if np.allclose(reference, candidate, atol=1e-4) else 0.0
    else:
        corr = float(np.corrcoef(reference, candidate)[0, 1])
    return Parity(variant, file, len(reference), corr, float(np.max(np.abs(reference - candidate))), ndcg_torch,
                  ndcg_variant, queries)
