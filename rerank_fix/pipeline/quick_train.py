"""A small cross-encoder trained on the spot, so reranking can be compared with no downloadable weights.

Training goes through the project's fine-tuning code (:func:`rerank_fix.finetune.run_finetune`): this
module only builds the triples (positives from the training qrels, hard negatives from stage one) and a
short :class:`~rerank_fix.finetune.config.FinetuneConfig`. The model is cached by its settings and
training data, so a second run reuses it.

The training split is never the evaluated split, and training queries that also appear among the
evaluated queries are dropped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from rerank_fix.core.jsonio import write_json
from rerank_fix.errors import ConfigError, DataError
from rerank_fix.pipeline.recipe import QuickTrainSpec

logger = logging.getLogger("rerank_fix.pipeline")

DONE = "quick_train.json"
# Part of the cache key: bump when the training procedure changes what the same settings produce.
TRAINER_VERSION = "head-init-1"


def cache_root() -> Path:
    return Path(os.environ.get("RERANK_FIX_CACHE", Path.home() / ".cache" / "rerank_fix"))


@dataclass
class QuickTrained:
    """A quick-trained model: where it is and what it was trained on.

    Args:
        path: The model folder (loadable by ``CrossEncoder``).
        info: Training data, settings and time, as written beside the model.
        reused: True when it came from the cache.

    Example:
        >>> QuickTrained(Path("m"), {"split": "train"}, reused=True).info["split"]
        'train'
    """

    path: Path
    info: dict[str, Any]
    reused: bool


def _has_split(source: str, split: str) -> bool | None:
    """True/False for folder sources (from ``qrels/<split>.tsv``); None when only loading can tell."""
    from rerank_fix.data import DEMO_PATH

    folder = DEMO_PATH if source == "demo" else Path(source)
    if folder.is_dir() and (folder / "qrels").is_dir():
        return (folder / "qrels" / f"{split}.tsv").is_file()
    return None


def choose_split(spec: QuickTrainSpec, source: str, eval_split: str | None, alias: str = "model") -> str:
    """The first of ``spec.splits`` that the source has and that is not the evaluated split."""
    tried = []
    for split in spec.splits:
        if split == eval_split:
            tried.append(f"{split} (the evaluated split)")
            continue
        has = _has_split(source, split)
        if has is None or has:
            return split
        tried.append(f"{split} (absent)")
    raise ConfigError(
        f"models.{alias}.quick_train.splits: no training split in {source} ({', '.join(tried)}). "
        f"Train on another collection (models.{alias}.quick_train.data), or point the model at a trained "
        f"folder: --model {alias}=PATH")


def mine_triples(train_set: Any, spec: QuickTrainSpec, exclude_ids: Iterable[str] = (),
                 exclude_texts: Iterable[str] = (), show_progress: bool = False) -> list[dict[str, Any]]:
    """FlagEmbedding-style triples ``{query, pos, neg, query_id}``: relevant documents as positives and
    seeded picks from stage one's top non-relevant documents as hard negatives.

    When ``rerank_fix.mine`` offers a miner, prefer it for real fine-tuning (it filters false negatives
    with a teacher and deduplicates); this is the minimal version for a quick, reproducible reranker.
    """
    from rerank_fix.retrieve import make_retriever

    excluded_ids = set(exclude_ids)
    excluded_texts = {t.strip().lower() for t in exclude_texts}
    qids = sorted(q for q in train_set.qrels
                  if q not in excluded_ids and train_set.queries[q].text.strip().lower() not in excluded_texts)
    if not qids:
        raise DataError(f"{train_set.name}: no training queries left after removing the evaluated ones")
    rng = random.Random(spec.seed)
    if len(qids) > spec.max_queries:
        qids = sorted(rng.sample(qids, spec.max_queries))
    options: dict[str, Any] = {"show_progress": show_progress} if spec.negatives_from == "dense" else {}
    retriever = make_retriever(spec.negatives_from, **options)
    retriever.index(train_set.corpus)
    pool = 30
    run = retriever.search({q: train_set.queries[q].text for q in qids}, k=pool + 10)
    triples = []
    for q in qids:
        judged = train_set.qrels[q]
        pos = [train_set.corpus[d].full_text for d, g in judged.items() if g > 0 and d in train_set.corpus]
        candidates = [d for d in run.ranked_ids(q) if d not in judged][:pool]
        if not pos or not candidates:
            continue
        negs = rng.sample(candidates, min(spec.negatives, len(candidates)))
        triples.append({"query_id": q, "query": train_set.queries[q].text, "pos": pos,
                        "neg": [train_set.corpus[d].full_text for d in negs]})
    return triples


def _key(spec: QuickTrainSpec, source: str, split: str, excluded: Iterable[str]) -> str:
    # ``data`` is left out: it only says where ``source`` came from, and the same training data with the
    # same settings is the same model whichever recipe asks for it.
    ident = {"spec": spec.model_dump(mode="json", exclude={"data"}),
             "source": str(Path(source).resolve()) if source != "demo" else "demo", "split": split,
             "excluded": hashlib.sha1("\n".join(sorted(excluded)).encode()).hexdigest(),
             # Models trained before the head warm start (rerank_fix.finetune.head_init) are not reused.
             "trainer": TRAINER_VERSION}
    return hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def finetune_settings(spec: QuickTrainSpec, alias: str, output_dir: str | Path, triples: str | Path) -> dict[str, Any]:
    """The fine-tuning config (:class:`~rerank_fix.finetune.config.FinetuneConfig` fields) ``spec`` asks for.

    Example:
        >>> s = finetune_settings(QuickTrainSpec(negatives=15, group_size=4), "q", "run", "t.jsonl")
        >>> s["data"]["group_size"], s["train"]["per_device_batch_size"]
        (4, 4)
    """
    # Each query brings a group of one positive and group - 1 of its mined negatives, redrawn every epoch.
    group = min(spec.group_size or spec.negatives + 1, spec.negatives + 1)
    return {
        "name": f"quick-{alias}",
        "output_dir": str(output_dir),
        "seed": spec.seed,
        "model": {"name_or_path": spec.base, "max_length": spec.max_length, "head_init": spec.head_init},
        "data": {"triples": str(triples), "group_size": group, "too_few_negatives": "repeat"},
        "train": {"epochs": spec.epochs, "per_device_batch_size": max(1, spec.batch_size // group),
                  "learning_rate": spec.learning_rate, "warmup_ratio": spec.warmup_ratio,
                  "head_learning_rate": spec.head_learning_rate, "save_steps": 1_000_000,
                  "save_total_limit": 2, "logging_steps": 1},
        "eval": {"enabled": False},
    }


def quick_train(spec: QuickTrainSpec, source: str, eval_split: str | None = None,
                eval_queries: Mapping[str, Any] | None = None, alias: str = "quick",
                cache_dir: str | Path | None = None, show_progress: bool = True) -> QuickTrained:
    """Train (or reuse) a small cross-encoder as ``spec`` says.

    Args:
        spec: Settings (base model, training split, sizes).
        source: The training collection (anything ``load_eval_set`` reads).
        eval_split: The split being evaluated; never trained on.
        eval_queries: ``query_id -> Query`` being evaluated; dropped from training by id and by text.
        alias: The model's name in the recipe (for messages).
        cache_dir: Where trained models are kept (default ``$RERANK_FIX_CACHE/models``).
        show_progress: Progress bars.

    Example:
        >>> trained = quick_train(QuickTrainSpec(max_queries=40), "demo", eval_split="test")  # doctest: +SKIP
        >>> trained.path.is_dir()  # doctest: +SKIP
        True
    """
    from rerank_fix.data import load_eval_set

    split = choose_split(spec, source, eval_split, alias)
    try:
        train_set = load_eval_set(source, split)
    except DataError as exc:
        raise ConfigError(f"models.{alias}.quick_train: cannot load training split {split!r} of {source}: {exc}") from None
    excluded_ids = {str(q) for q in (eval_queries or {})}
    eval_texts = {getattr(q, "text", str(q)).strip().lower() for q in (eval_queries or {}).values()}
    # Only the evaluated queries that are also training queries change the training data (and the cache key).
    overlap = sorted(q for q in train_set.qrels
                     if q in excluded_ids or train_set.queries[q].text.strip().lower() in eval_texts)
    root = Path(cache_dir) if cache_dir else cache_root() / "models"
    folder = root / f"quick-{_key(spec, source, split, overlap)}"
    done = folder / DONE
    if done.is_file():
        info = json.loads(done.read_text(encoding="utf-8"))
        path = Path(info["model_dir"])
        if path.is_dir():
            logger.info("reusing quick-trained model %s (%s)", alias, path)
            return QuickTrained(path, info, True)
    started = time.time()
    triples = mine_triples(train_set, spec, overlap, (), show_progress=show_progress)
    if not triples:
        raise DataError(f"{train_set.name}: could not build any training triple (no positives or no candidates)")
    folder.mkdir(parents=True, exist_ok=True)
    triples_path = folder / "triples.jsonl"
    with triples_path.open("w", encoding="utf-8") as handle:
        for t in triples:
            handle.write(json.dumps(t, ensure_ascii=False) + "\n")
    from rerank_fix.finetune.config import parse_config
    from rerank_fix.finetune.trainer import run_finetune

    cfg = parse_config(finetune_settings(spec, alias, folder / "run", triples_path),
                       source=f"models.{alias}.quick_train")
    logger.info("quick-training %s on %s/%s: %d queries, %d negatives each", alias, source, split, len(triples),
                spec.negatives)
    result = run_finetune(cfg, show_progress=show_progress)
    info = {"alias": alias, "model_dir": str(result.model_dir), "train_data": source, "split": split,
            "train_queries": len(triples), "negatives_per_query": spec.negatives,
            "negatives_from": spec.negatives_from, "dropped_evaluated_queries": len(overlap),
            "steps": result.global_step, "seconds": round(time.time() - started, 1),
            "spec": spec.model_dump(mode="json"), "trainer": "rerank_fix.finetune.run_finetune"}
    write_json(done, info)
    return QuickTrained(Path(result.model_dir), info, False)
