"""ONNX Runtime scorer backends: ``onnx`` (fp32) and ``onnx-int8`` (dynamic int8 weights).

The model is exported once with :func:`rerank_fix.export.onnx.export_onnx` (the same exporter as
``rerank-fix export --onnx``) into a cache folder, or read from an exported folder's ``onnx/`` directly.

Why not ``CrossEncoder(..., backend="onnx")``: sentence-transformers loads ONNX models through
``optimum-onnx``, whose current release (0.1.0) pins ``transformers<4.58``, and ``optimum-intel`` 2.2
pins ``transformers<5.6``; neither installs beside the transformers this project runs on. The export and
quantisation here are the same two steps optimum performs (``torch.onnx.export`` then
``onnxruntime.quantization.quantize_dynamic``), without the pin.

Pairs are tokenized once, sorted by token length across all queries, and padded per batch only to the
longest pair in that batch (what ``CrossEncoder.predict`` does by character count).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from rerank_fix.rerank.base import SCORERS, Reranker

logger = logging.getLogger("rerank_fix.rerank")


def default_export_dir() -> Path:
    return Path(os.environ.get("RERANK_FIX_CACHE", Path.home() / ".cache" / "rerank_fix")) / "scorers"


def length_sorted_batches(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int | None,
                          batch_size: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Tokenize every pair once, then yield ``(positions, padded inputs)`` batches, longest first.

    Sorting all pairs (every query's candidates together) by token length means each batch pads to a
    length close to its own pairs', so short pairs do not pay for the longest document of their query.

    Example:
        >>> from transformers import AutoTokenizer  # doctest: +SKIP
        >>> for rows, feed in length_sorted_batches(tok, [("q", "d")], 128, 32): ...  # doctest: +SKIP
    """
    enc = tokenizer([q for q, _ in pairs], [d for _, d in pairs], truncation=True,
                    max_length=max_length or tokenizer.model_max_length, padding=False)
    ids = enc["input_ids"]
    types = enc.get("token_type_ids")
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-lengths, kind="stable")
    pad = tokenizer.pad_token_id or 0
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = int(lengths[rows[0]])
        input_ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        token_types = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            n = int(lengths[row])
            input_ids[r, :n] = ids[row]
            mask[r, :n] = 1
            if types is not None:
                token_types[r, :n] = types[row]
        yield rows, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": token_types}


def activation_of(folder: Path) -> str:
    """``sigmoid`` or ``identity``: what ``CrossEncoder.predict`` applies to this model's single logit."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return "sigmoid"
    path = (config.get("sentence_transformers") or {}).get("activation_fn") or \
        config.get("sbert_ce_default_activation_function") or "Sigmoid"
    return "identity" if str(path).endswith("Identity") else "sigmoid"


def _folder_fingerprint(folder: Path) -> str:
    # Name, size and mtime of every weight/config file: a retrained folder gets a new export.
    digest = hashlib.sha1(str(folder.resolve()).encode())
    for path in sorted(folder.glob("*")):
        if path.is_file() and path.suffix in (".json", ".safetensors", ".bin", ".txt", ".model"):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@SCORERS.register("onnx")
class OnnxScorer(Reranker):
    """Score pairs with ONNX Runtime on CPU.

    Args:
        model: Model id, folder or ``None`` (the bundled MiniLM with its seeded fresh head, as the torch
            backend builds it). A folder written by ``rerank-fix export --onnx`` is used as is.
        max_length: Token limit for query + document.
        batch_size: Pairs per run.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        export_dir: Where exported / quantised files are cached (default ``$RERANK_FIX_CACHE/scorers``).
        trust_remote_code: Passed to the model load when exporting.
        show_progress: Unused (kept for a uniform constructor across backends).

    Example:
        >>> from rerank_fix.rerank import SCORERS
        >>> scorer = SCORERS.get("onnx-int8")(None, max_length=128)  # doctest: +SKIP
        >>> scorer.score([("api key rotation", "Rotate an API key from the console.")])  # doctest: +SKIP

    References:
        ONNX Runtime quantization: https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html
    """

    #: ``None`` (fp32) or ``"int8"``; subclasses set it.
    quantize: str | None = None
    backend = "onnx"

    def __init__(self, model: str | None = None, max_length: int | None = 512, batch_size: int = 32,
                 threads: int | None = None, export_dir: str | Path | None = None,
                 trust_remote_code: bool = False, show_progress: bool = False, name: str = "rerank",
                 **_: Any) -> None:
        if model is not None and not isinstance(model, (str, Path)):
            raise TypeError(f"the {self.backend} backend takes a model id or folder, not a loaded model")
        self.spec = None if model is None else str(model)
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads
        self.export_dir = Path(export_dir) if export_dir else default_export_dir()
        self.trust_remote_code = trust_remote_code
        self.name = name
        self._runner: Any = None
        self._tokenizer: Any = None
        self._activation = "sigmoid"

    @property
    def variant(self) -> str:
        return f"{self.backend}-{self.quantize}" if self.quantize else self.backend

    # -------------------------------------------------------------- files
    def _source_folder(self) -> Path:
        from rerank_fix.models import resolve_model

        return Path(resolve_model(self.spec))

    def onnx_file(self) -> tuple[Path, Path]:
        """``(fp32 .onnx file, folder with the tokenizer and config)``, exporting on first use."""
        from rerank_fix.rerank.onnx_files import ONNX_FILE, require_onnx

        require_onnx()
        folder = self._source_folder()
        if (folder / ONNX_FILE).is_file():
            return folder / ONNX_FILE, folder
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: the {self.backend} backend needs the model on disk "
                                    "(download it once, or point at a local folder)")
        target = self.export_dir / f"{folder.name}-{_folder_fingerprint(folder)}"
        if not (target / "model.onnx").is_file():
            self._export(folder, target)
        return target / "model.onnx", target

    def _export(self, folder: Path, target: Path) -> None:
        from rerank_fix.rerank.onnx_files import export_onnx
        from rerank_fix.models import load_cross_encoder

        logger.info("exporting %s to ONNX once (cached in %s)", folder, target)
        model = load_cross_encoder(str(folder), max_length=self.max_length, trust_remote_code=self.trust_remote_code)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
        try:
            export_onnx(model, tmp / "model.onnx")
            model.tokenizer.save_pretrained(str(tmp))
            config = {"activation": type(model.activation_fn).__name__.lower(), "source": str(folder)}
            (tmp / "scorer.json").write_text(json.dumps(config))
            try:
                tmp.replace(target)  # atomic: a half-written export is never visible
            except OSError:  # another process finished the same export first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def model_file(self) -> tuple[Path, Path]:
        """The file this variant runs (quantising the fp32 export on first use) and its tokenizer folder."""
        fp32, folder = self.onnx_file()
        if self.quantize != "int8":
            return fp32, folder
        from rerank_fix.rerank.onnx_files import INT8_FILE, quantize_int8

        shipped = folder / INT8_FILE
        if shipped.is_file():
            return shipped, folder
        int8 = fp32.with_name("model_qint8.onnx")
        if not int8.is_file():
            tmp = int8.with_name(f".{int8.name}.{os.getpid()}.tmp.onnx")
            quantize_int8(fp32, tmp)
            tmp.replace(int8)
        return int8, folder

    def _load_activation(self, folder: Path) -> str:
        meta = folder / "scorer.json"
        if meta.is_file():
            return "identity" if json.loads(meta.read_text()).get("activation") == "identity" else "sigmoid"
        return activation_of(folder)

    # -------------------------------------------------------------- runtime
    def _load(self) -> None:
        from transformers import AutoTokenizer

        path, folder = self.model_file()
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self._activation = self._load_activation(folder)
        self._runner = self._session(path)

    def _session(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return lambda feed: session.run(None, {n: feed[n] for n in names})[0]

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The model's first logit per pair, in input order (no activation)."""
        if self._runner is None:
            self._load()
        out = np.zeros(len(pairs), dtype=np.float32)
        for rows, feed in length_sorted_batches(self._tokenizer, pairs, self.max_length, self.batch_size):
            out[rows] = np.asarray(self._runner(feed), dtype=np.float32).reshape(len(rows), -1)[:, 0]
        return out

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        logits = self.logits(pairs)
        if self._activation == "sigmoid":
            return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
        return logits


@SCORERS.register("onnx-int8")
class OnnxInt8Scorer(OnnxScorer):
    """:class:`OnnxScorer` on dynamically quantised int8 weights (activations quantised at run time).

    Faster on CPUs with VNNI; the parity gate (:mod:`rerank_fix.evaluate.parity`) decides whether the
    ranking it gives is close enough to fp32 torch to use.
    """

    quantize = "int8"
