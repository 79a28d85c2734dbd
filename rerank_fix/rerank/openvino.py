"""OpenVINO scorer backends: ``openvino`` (fp32) and ``openvino-int8`` (static int8 through NNCF).

OpenVINO reads the same ONNX export as :mod:`rerank_fix.rerank.onnx`. The int8 variant is post-training
static quantisation (weights and activations), what sentence-transformers'
``export_static_quantized_openvino_model`` does through optimum-intel, but calibrated on the user's own
pairs instead of a hub dataset (GLUE SST-2 by default there), so it works offline and fits the domain.

Needs ``pip install 'rerank-fix[openvino]'`` (openvino; nncf for int8).
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rerank_fix.errors import ConfigError
from rerank_fix.rerank.base import SCORERS
from rerank_fix.rerank.onnx import OnnxScorer, length_sorted_batches

logger = logging.getLogger("rerank_fix.rerank")

#: Pairs used to calibrate int8 activation ranges (NNCF's default subset size is 300).
CALIBRATION_PAIRS = 300


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"the OpenVINO backend needs {module}: pip install 'rerank-fix[openvino]'") from None


@SCORERS.register("openvino")
class OpenVinoScorer(OnnxScorer):
    """Score pairs with the OpenVINO runtime on CPU.

    Args:
        model / max_length / batch_size / threads / export_dir: As :class:`~rerank_fix.rerank.onnx.OnnxScorer`.
        calibration_pairs: Pairs to calibrate int8 on; by default the first :data:`CALIBRATION_PAIRS`
            pairs the scorer is asked to score (the user's own queries and documents).

    Example:
        >>> from rerank_fix.rerank import SCORERS
        >>> scorer = SCORERS.get("openvino")("path/to/cross-encoder", max_length=256)  # doctest: +SKIP
        >>> scorer.score([("api key rotation", "Rotate an API key from the console.")])  # doctest: +SKIP

    References:
        https://docs.openvino.ai/ ; NNCF post-training quantization: https://github.com/openvinotoolkit/nncf
    """

    backend = "openvino"

    def __init__(self, model: str | None = None, *args: Any,
                 calibration_pairs: Sequence[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(model, *args, **kwargs)
        self.calibration_pairs = list(calibration_pairs) if calibration_pairs else None

    def _load(self, pairs: Sequence[tuple[str, str]] = ()) -> None:
        from transformers import AutoTokenizer

        ov = _require("openvino")
        onnx_path, folder = self.onnx_file()
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self._activation = self._load_activation(folder)
        core = ov.Core()
        model = core.read_model(str(onnx_path))
        if self.quantize == "int8":
            model = self._quantized(core, model, onnx_path, pairs)
        # f32 explicitly: on CPUs with bf16 units OpenVINO would otherwise pick bf16 for an fp32 model.
        config = {"PERFORMANCE_HINT": "THROUGHPUT" if not self.threads else "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = int(self.threads)
        compiled = core.compile_model(model, "CPU", config)
        names = [p.get_any_name() for p in compiled.inputs]
        request = compiled.create_infer_request()

        def run(feed: dict[str, np.ndarray]) -> np.ndarray:
            return request.infer({n: feed[n] for n in names})[compiled.outputs[0]]

        self._runner = run

    def _quantized(self, core: Any, model: Any, onnx_path: Path, pairs: Sequence[tuple[str, str]]) -> Any:
        ov = _require("openvino")
        calibration = (self.calibration_pairs or list(pairs))[:CALIBRATION_PAIRS]
        if not calibration:
            raise ConfigError("openvino-int8 needs calibration pairs; score some pairs or pass calibration_pairs")
        digest = hashlib.sha1("\x1e".join(f"{q}\x1f{d}" for q, d in calibration).encode())
        digest.update(str(self.max_length).encode())
        cached = onnx_path.with_name(f"openvino_int8_{digest.hexdigest()[:12]}.xml")
        if cached.is_file():
            return core.read_model(str(cached))
        nncf = _require("nncf")
        logger.info("calibrating int8 on %d pairs (once; cached in %s)", len(calibration), cached.parent)
        items = [feed for _, feed in length_sorted_batches(self._tokenizer, calibration, self.max_length, 1)]
        quantized = nncf.quantize(model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(items))
        tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.tmp.xml")
        ov.save_model(quantized, str(tmp), compress_to_fp16=False)
        tmp.with_suffix(".bin").replace(cached.with_suffix(".bin"))
        tmp.replace(cached)  # the .xml last: a model without its weights is never visible
        return quantized

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if self._runner is None:
            self._load(pairs)
        return super().logits(pairs)


@SCORERS.register("openvino-int8")
class OpenVinoInt8Scorer(OpenVinoScorer):
    """:class:`OpenVinoScorer` with NNCF static int8 quantisation, calibrated on the user's pairs."""

    quantize = "int8"
