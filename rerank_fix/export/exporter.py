"""Export a tuned reranker for production: atomic, verified, documented, optionally ONNX / int8."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rerank_fix.errors import ConfigError, DataError, UserInputError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

    from rerank_fix.finetune.config import FinetuneConfig
    from rerank_fix.finetune.evaluator import DevSetup

logger = logging.getLogger("rerank_fix.export")

# Scores of the reloaded export may differ from the source only by float noise.
VERIFY_TOLERANCE = 1e-4
FALLBACK_PAIRS = [
    ("how do I reset my password", "To reset your password, open settings and choose security."),
    ("how do I reset my password", "Our office is closed on public holidays."),
    ("effects of vitamin d on bone density", "Vitamin D supplementation increased bone mineral density."),
    ("effects of vitamin d on bone density", "The stock market fell sharply on Monday."),
]


@dataclass
class ExportResult:
    """What was written.

    Args:
        target: The export folder.
        files: Files in it (relative).
        verify: Reload check figures.
        parity: ONNX / int8 parity figures (empty without ``onnx``/``int8``).

    Example:
        >>> result = export_model("runs/finetune/cpu-minilm", "exported/minilm")  # doctest: +SKIP
        >>> "model.safetensors" in result.files  # doctest: +SKIP
        True
    """

    target: Path
    files: list[str]
    verify: dict[str, Any]
    parity: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Source:
    model_dir: Path
    run_dir: Path | None
    summary: dict | None
    data_stats: dict | None
    config_yaml: str | None

    def config(self) -> "FinetuneConfig | None":
        """The run's config, relative paths anchored where the run was started."""
        if self.config_yaml is None:
            return None
        import yaml

        from rerank_fix.finetune.config import parse_config

        base = (self.summary or {}).get("config_base_dir") or str(Path.cwd())
        return parse_config(yaml.safe_load(self.config_yaml) or {}, source=str(self.run_dir / "config.yaml"),
                            base_dir=base)


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def resolve_source(source: str | Path) -> _Source:
    """A run folder (``summary.json`` + ``best/`` or ``final/``) or a model folder."""
    path = Path(source)
    if not path.exists():
        raise UserInputError(f"{path}: no such run or model folder — check the path")
    summary = _read_json(path / "summary.json")
    if summary is not None:
        model_dir = Path(summary.get("model_dir", ""))
        if not model_dir.is_dir():
            model_dir = next((path / d for d in ("best", "final") if (path / d).is_dir()), model_dir)
        if not model_dir.is_dir():
            raise UserInputError(f"{path}: the run's model folder {summary.get('model_dir')} is missing — the folder was "
                                 "moved or deleted; export the model folder itself")
        config = path / "config.yaml"
        return _Source(model_dir, path, summary, _read_json(path / "data_stats.json"),
                       config.read_text(encoding="utf-8") if config.is_file() else None)
    if (path / "config.json").is_file():
        return _Source(path, None, None, None, None)
    if (path / "checkpoints").is_dir():
        raise UserInputError(f"{path}: this run has not finished (no summary.json); resume it with "
                             "`rerank-fix finetune CONFIG --resume` first, or export a model folder")
    raise UserInputError(f"{path}: neither a finished fine-tuning run (summary.json) nor a model folder (config.json) "
                         "— give a run folder of rerank-fix finetune, or a folder written by save_pretrained")


def _dev_setup(src: _Source, dev_data: str | None, dev_split: str, max_queries: int | None) -> "DevSetup | None":
    """The dev split for the parity check: the run's own, or one named on the command line."""
    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.evaluator import prepare_dev

    if dev_data is not None:
        cfg = parse_config({"data": {"triples": "-"}, "eval": {
            "enabled": True, "data": dev_data, "split": dev_split, "max_queries": max_queries}},
            source="export --dev-data")
        return prepare_dev(cfg)
    cfg = src.config()
    if cfg is None or not cfg.eval.enabled:
        return None
    if max_queries is not None:
        cfg.eval.max_queries = max_queries
    return prepare_dev(cfg)


def _sample_pairs(src: _Source, dev: "DevSetup | None", n: int = 32) -> list[tuple[str, str]]:
    """Pairs to re-score after reloading: dev candidates, else the run's training triples, else a fixed few."""
    pairs: list[tuple[str, str]] = []
    if dev is not None:
        for qid, items in dev.first_stage.results.items():
            pairs += [(dev.dev.queries[qid].text, dev.dev.corpus[doc_id].full_text) for doc_id, _ in items[:4]]
    elif (cfg := src.config()) is not None:
        from rerank_fix.finetune.data import read_triples

        triples = cfg.resolve(cfg.data.triples)
        if triples is not None and triples.exists():
            for t in read_triples(triples, show_progress=False)[:n]:
                pairs += [(t.query, d) for d in (t.pos[0], *t.neg[:3])]
                if len(pairs) >= n:
                    break
    return pairs[:n] or list(FALLBACK_PAIRS)


def _raw_scores(model: "CrossEncoder", pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
    from rerank_fix.rerank.cross_encoder import CrossEncoderReranker

    logits = CrossEncoderReranker(model, batch_size=batch_size, show_progress=False).logits(pairs)
    return np.asarray(logits, dtype=np.float64).reshape(len(pairs), -1)[:, 0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mean_ndcg(run, dev: "DevSetup") -> float:
    from rerank_fix.evaluate.metrics import mean_scores, per_query

    return mean_scores(per_query(run, dev.dev.qrels, ["ndcg@10"]))["ndcg@10"]


def export_model(source: str | Path, target: str | Path, force: bool = False, onnx: bool = False,
                 int8: bool = False, report: str | Path | None = None, policy: str | Path | None = None,
                 dev_data: str | None = None, dev_split: str = "dev", parity_queries: int | None = 100,
                 max_length: int | None = None, exporter: str = "dynamo", name: str | None = None) -> ExportResult:
    """Export a fine-tuned cross-encoder (or any model folder) for production.

    Writes safetensors weights, tokenizer and config loadable by ``CrossEncoder(target)``, and a model
    card (README.md) with the training config, data stats, the stratified before/after dev table, and
    optionally a recipe report and routing policy. Everything is written to a temporary folder beside
    the target, reloaded and re-scored on sample pairs, and only then renamed into place. ``onnx`` adds
    ``onnx/model.onnx`` and ``int8`` adds ``onnx/model_qint8.onnx`` (dynamic int8; implies ONNX); each
    must score the dev split with Pearson ≥ 0.99 against torch and lose at most 0.005 nDCG@10, or the
    export is refused.

    Args:
        source: A finished run folder (``rerank-fix finetune``) or a model folder.
        target: The export folder; an existing one is refused unless ``force``.
        force: Replace an existing target.
        onnx / int8: Add ONNX / dynamic-int8 ONNX variants, with the parity check.
        report: A recipe ``report.json`` to summarise in the card.
        policy: A routing policy JSON to include in the card.
        dev_data / dev_split: Dev collection for the parity check when ``source`` is not a run.
        parity_queries: Cap on dev queries scored by the parity check.
        max_length: Token limit (default: the run's ``model.max_length``, else the model's).
        exporter: ``dynamo`` or ``legacy`` torch ONNX exporter.
        name: Model name in the card (default: the target folder's name).

    Example:
        >>> export_model("runs/finetune/cpu-minilm", "exported/minilm-scifact", onnx=True)  # doctest: +SKIP
    """
    from sentence_transformers import CrossEncoder

    target = Path(target)
    src = resolve_source(source)
    check_target(target, src, source, force)
    _check_model_folder(src.model_dir)
    report_data = _read_json(Path(report)) if report else None
    if report and report_data is None:
        raise UserInputError(f"{report}: report file not found — give the report.json of rerank-fix compare")
    routing = None
    if policy:
        from rerank_fix.pipeline.routing import RoutingPolicy

        routing = RoutingPolicy.load(policy)
    if onnx or int8:
        from rerank_fix.rerank.onnx_files import require_onnx

        require_onnx()
    if max_length is None and (cfg := src.config()) is not None:
        max_length = cfg.model.max_length

    dev = None
    if onnx or int8:
        dev = _dev_setup(src, dev_data, dev_split, parity_queries)
        if dev is None:
            raise ConfigError("--onnx/--int8 need a dev split for the parity check: export a run whose config has "
                              "eval enabled, or pass --dev-data (and --dev-split)")
    model = CrossEncoder(str(src.model_dir), max_length=max_length)
    if model.num_labels != 1:
        raise UserInputError(f"{src.model_dir}: a reranker has one output logit; this model has {model.num_labels}")

    from rerank_fix.outputs import OutputFolder, clean_temp_siblings, mark_temp

    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in clean_temp_siblings(target):
        logger.info("removed %s, left by an interrupted export", stale)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        mark_temp(tmp, "export")
        model.save_pretrained(str(tmp))
        weights = tmp / "model.safetensors"
        if not weights.is_file():
            raise RuntimeError(f"save_pretrained wrote no model.safetensors in {tmp}")
        pairs = _sample_pairs(src, dev)
        reference = _raw_scores(model, pairs)
        reloaded = CrossEncoder(str(tmp), max_length=max_length)
        again = _raw_scores(reloaded, pairs)
        verify = {"pairs": len(pairs), "max_abs_diff": float(np.max(np.abs(reference - again))),
                  "tolerance": VERIFY_TOLERANCE}
        if verify["max_abs_diff"] > VERIFY_TOLERANCE:
            raise RuntimeError(f"the reloaded export scores differently (max |Δ| {verify['max_abs_diff']:.2e})")
        parities = _onnx_variants(tmp, reloaded, dev, onnx, int8, exporter) if (onnx or int8) else []
        info = {"source": str(Path(source).resolve()), "model_dir": str(src.model_dir.resolve()),
                "sha256": _sha256(weights), "verify": verify, "parity": [p for p in parities],
                "max_length": reloaded.max_seq_length, "report": str(report) if report else None,
                "policy": str(policy) if policy else None}
        from rerank_fix.export.card import render_card

        card = render_card(name or target.name, (src.summary or {}).get("base_model"), src.summary,
                           src.data_stats, src.config_yaml, report_data, routing, info)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        if routing is not None:
            shutil.copyfile(policy, tmp / "routing_policy.json")
        (tmp / "export_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        OutputFolder(tmp, "export", []).commit()
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file() and p.name != ".rerank-fix.json")
    return ExportResult(target, files, verify, parities)


def check_target(target: Path, src: _Source, source: str | Path, force: bool) -> None:
    """Refuse a target that would lose data: a file, the source or a folder holding it, or a folder that
    ``--force`` would replace but that does not hold a previous export (and only that)."""
    from rerank_fix.outputs import _split_files, check_output_path, previous_owner

    if target.exists() and not target.is_dir():
        raise UserInputError(f"{target}: the export target is an existing file — choose a folder path")
    resolved = target.resolve()
    sources = [src.model_dir.resolve(), Path(source).resolve(), *([src.run_dir.resolve()] if src.run_dir else [])]
    for s in sources:
        if resolved == s or resolved in s.parents:
            raise UserInputError(f"{target}: the export target contains the source {source} — exporting there "
                                 "would replace the source; choose a folder outside it")
        if s in resolved.parents:
            raise UserInputError(f"{target}: the export target lies inside the source {source} — choose a folder "
                                 "outside it")
    check_output_path(target, option="export target")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise UserInputError(f"{target} already exists; pass --force to replace it, or choose another target")
        if previous_owner(target) != "export":
            raise UserInputError(f"{target}: --force replaces only a previous export, and this folder is not one "
                                 "— choose another target, or move its files away yourself")
        _, unknown = _split_files(target, "export", "export target")
        if unknown:
            raise UserInputError(f"{target}: --force would delete {len(unknown)} file(s) the previous export did "
                                 f"not write, e.g. {unknown[0]!r} — move them away or choose another target")


def _check_model_folder(model_dir: Path) -> None:
    """A model folder must hold weights and a standard architecture (no code shipped beside the weights)."""
    config = _read_json(model_dir / "config.json")
    if config is None:
        raise UserInputError(f"{model_dir}: no config.json — export a model folder written by save_pretrained")
    if config.get("auto_map") or any(model_dir.glob("*.py")):
        raise UserInputError(f"{model_dir}: the model ships its own code (auto_map / *.py), which rerank-fix does "
                             "not run — export a model with a standard transformers architecture")
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
               "pytorch_model.bin.index.json")
    if not any((model_dir / w).is_file() for w in weights):
        raise UserInputError(f"{model_dir}: no model weights (model.safetensors or pytorch_model.bin) — the "
                             "folder is incomplete; export the run's best/ or final/ folder, or re-save the model")


def _onnx_variants(folder: Path, model: "CrossEncoder", dev: "DevSetup", onnx: bool, int8: bool,
                   exporter: str) -> list[dict[str, Any]]:
    from sentence_transformers import CrossEncoder

    from rerank_fix.export.onnx import ExportParityError, OnnxReranker, parity
    from rerank_fix.rerank.onnx_files import INT8_FILE, ONNX_FILE, export_onnx, quantize_int8
    from rerank_fix.rerank.cross_encoder import CrossEncoderReranker

    max_length = model.max_seq_length
    torch_reranker = CrossEncoderReranker(model, max_length=max_length, batch_size=32, show_progress=False)
    queries, corpus, run = dev.dev.query_texts, dev.dev.corpus, dev.first_stage
    depth = max(len(items) for items in run.results.values()) if run.results else 0
    pairs = [(queries[q], corpus[d].full_text) for q, items in run.results.items() if q in queries
             for d, _ in items]
    logger.info("parity check on %d dev queries (%d pairs)", len(run.results), len(pairs))
    # Raw logits on both sides (the reranker's scores are sigmoids: same order, different scale).
    reference = _raw_scores(model, pairs)
    ndcg_torch = _mean_ndcg(torch_reranker.rerank(run, queries, corpus, depth), dev)
    # Export from a fresh copy: the exporter may leave the module it traced altered.
    onnx_path = export_onnx(CrossEncoder(str(folder), max_length=max_length), folder / ONNX_FILE, exporter)
    variants = []
    if onnx or int8:
        variants.append(("onnx-fp32", ONNX_FILE, onnx_path))
    if int8:
        variants.append(("onnx-int8-dynamic", INT8_FILE, quantize_int8(onnx_path, folder / INT8_FILE)))
    results = []
    for variant, rel, path in variants:
        reranker = OnnxReranker(path, model.tokenizer, max_length, name=variant)
        scores = reranker.score(pairs)
        ndcg = _mean_ndcg(reranker.rerank(run, queries, corpus, depth), dev)
        check = parity(variant, rel, np.asarray(reference, float), np.asarray(scores, float), ndcg_torch, ndcg,
                       len(run.results))
        results.append(check.as_dict())
        logger.info("%s: Pearson %.4f, nDCG@10 %.4f vs torch %.4f", variant, check.correlation, ndcg, ndcg_torch)
        if not check.passed:
            raise ExportParityError(
                f"{variant} fails the parity check on {check.queries} dev queries: Pearson {check.correlation:.4f} "
                f"(needs ≥ 0.99), nDCG@10 {ndcg:.4f} vs torch {ndcg_torch:.4f} (drop {check.ndcg_drop:+.4f}, "
                "allowed 0.005). Nothing was written; export without this variant.")
    # Only the int8 file was asked for: its fp32 parent was only a step to it.
    if int8 and not onnx:
        onnx_path.unlink()
        results = [r for r in results if r["variant"] != "onnx-fp32"]
    return results


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished folder into place; an existing target (``force``) is moved aside first."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
