"""The exported ONNX scorer and the parity check that gates an export (the conversion itself is
:mod:`rerank_fix.rerank.onnx_files`).

Needs the optional ``export`` extra (``pip install rerank-fix[export]``: onnx, onnxruntime; the default
torch exporter also uses onnxscript).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rerank_fix.errors import UserInputError
from rerank_fix.rerank.base import Reranker


MIN_CORRELATION = 0.99
MAX_NDCG_DROP = 0.005


class ExportParityError(UserInputError):
    """An exported variant scores differently from the PyTorch model; the export is refused.

    Args:
        message: The failing variant, its Pearson correlation and nDCG@10 drop, and the limits.

    Example:
        >>> raise ExportParityError("onnx-int8-dynamic fails the parity check ...")  # doctest: +SKIP
    """


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
