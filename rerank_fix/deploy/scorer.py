"""The model behind a deployment: an exported cross-encoder folder, on ONNX Runtime when the export has an
ONNX file, else torch; scores are the model's logits passed through its own activation, exactly as
``CrossEncoder.predict`` returns them (``raw=True`` gives the logits)."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rerank_fix.errors import ConfigError

ONNX_FILE = "onnx/model.onnx"


def _activation_name(folder: Path) -> str:
    """``sigmoid`` or ``identity``: what CrossEncoder applies to a one-logit head (from its saved config)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    saved = str((config.get("sentence_transformers") or {}).get("activation_fn") or "")
    if saved and "Sigmoid" not in saved:
        return "identity"
    return "sigmoid" if config.get("num_labels", 1) in (1, None) else "identity"


class ModelScorer:
    """Scores pairs with one exported model; thread-safe (one forward pass at a time).

    Args:
        folder: A folder ``CrossEncoder(folder)`` loads (what ``rerank-fix export`` writes), or a hub id.
        backend: ``auto`` (ONNX when ``onnx/model.onnx`` exists, else torch), ``torch`` or ``onnx``.
        batch_size: Pairs per forward pass.

    Example:
        >>> scorer = ModelScorer("exported/minilm")                 # doctest: +SKIP
        >>> scorer.score([("query", "a document")]).shape            # doctest: +SKIP
        (1,)
    """

    def __init__(self, folder: str | Path, backend: str = "auto", batch_size: int = 32,
                 max_length: int | None = None) -> None:
        self.folder = Path(folder)
        self.batch_size = batch_size
        if backend not in ("auto", "torch", "onnx"):
            raise ConfigError(f"backend must be auto, torch or onnx, got {backend!r}")
        onnx_path = self.folder / ONNX_FILE
        if backend == "onnx" and not onnx_path.is_file():
            raise ConfigError(f"{self.folder}: no {ONNX_FILE}; export with --onnx or use backend torch")
        self.backend = "onnx" if backend == "onnx" or (backend == "auto" and onnx_path.is_file()) else "torch"
        self._lock = threading.Lock()
        info = self._export_info()
        if self.backend == "onnx":
            from transformers import AutoTokenizer

            from rerank_fix.export.onnx import OnnxReranker

            length = max_length or info.get("max_length") or 512
            tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
            self._onnx = OnnxReranker(onnx_path, tokenizer, int(length), batch_size=batch_size)
            self.activation = _activation_name(self.folder)
            self.max_length = int(length)
        else:
            from rerank_fix.models import load_cross_encoder

            self._model = load_cross_encoder(str(folder), max_length=max_length)
            fn = type(getattr(self._model, "activation_fn", None)).__name__
            self.activation = "sigmoid" if fn == "Sigmoid" else "identity"
            self.max_length = getattr(self._model, "max_length", None)

    def _export_info(self) -> dict[str, Any]:
        try:
            return json.loads((self.folder / "export_info.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            if self.backend == "onnx":
                return np.asarray(self._onnx.score(list(pairs)), dtype=np.float32)
            import torch

            out = self._model.predict([list(p) for p in pairs], batch_size=self.batch_size,
                                      activation_fn=torch.nn.Identity(), show_progress_bar=False,
                                      convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32).reshape(len(pairs), -1)[:, 0]

    def activate(self, logits: np.ndarray) -> np.ndarray:
        if self.activation == "sigmoid":
            import torch

            # torch's sigmoid, so the numbers match CrossEncoder.predict bit for bit.
            return torch.sigmoid(torch.from_numpy(np.asarray(logits, dtype=np.float32))).numpy()
        return np.asarray(logits, dtype=np.float32)

    def score(self, pairs: Sequence[tuple[str, str]], raw: bool = False) -> np.ndarray:
        logits = self.logits(pairs)
        return logits if raw else self.activate(logits)

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.folder), "backend": self.backend, "activation": self.activation,
                "max_length": self.max_length}
