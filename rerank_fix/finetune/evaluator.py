"""Evaluation in the training loop: rerank stage-one candidates of dev queries with the shared evaluator."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rerank_fix.errors import ConfigError, DataError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

    from rerank_fix.core.types import EvalSet
    from rerank_fix.evaluate.strata import Stratifier
    from rerank_fix.finetune.config import FinetuneConfig
    from rerank_fix.core.run import Run

logger = logging.getLogger("rerank_fix.finetune")

# Below this spread of dev scores the model scores every pair alike: the collapse of FlagEmbedding #858.
COLLAPSE_STD = 1e-3


@dataclass
class DevSetup:
    """Dev queries with their stage-one candidates, plus what training must exclude.

    Args:
        dev: The dev ``EvalSet`` (shares the corpus).
        first_stage: Stage-one run over the dev queries.
        exclude_ids / exclude_texts: Dev query ids and normalised texts, removed from the training triples.
        test_ids / test_texts: Ids and normalised texts of the held-out test queries (kept out of training).
        info: Counts for the model card.

    Example:
        >>> setup = prepare_dev(load_config("configs/finetune/cpu-minilm.yaml"))  # doctest: +SKIP
        >>> len(setup.dev.queries), setup.first_stage.name  # doctest: +SKIP
        (30, 'dense')
    """

    dev: "EvalSet"
    first_stage: "Run"
    exclude_ids: set[str] = field(default_factory=set)
    exclude_texts: set[str] = field(default_factory=set)
    test_ids: set[str] = field(default_factory=set)
    test_texts: set[str] = field(default_factory=set)
    info: dict[str, Any] = field(default_factory=dict)


def held_out_queries(data: Path, test_split: str) -> tuple[set[str], set[str]]:
    """Ids and normalised texts of the test split's queries, when ``data`` is a BEIR folder that has it."""
    from rerank_fix.data.beir import read_qrels, read_queries
    from rerank_fix.finetune.data import normalise_query

    qrels_path = data / "qrels" / f"{test_split}.tsv"
    queries_path = data / "queries.jsonl"
    if not (data.is_dir() and qrels_path.is_file() and queries_path.is_file()):
        return set(), set()
    qrels = read_qrels(qrels_path)
    queries = {qid: q for qid, q in read_queries(queries_path).items() if qid in qrels}
    return set(queries), {normalise_query(q.text) for q in queries.values()}


def prepare_dev(cfg: "FinetuneConfig", show_progress: bool = True, retrieve: bool = True) -> DevSetup:
    """Load the dev split (or carve it out of ``eval.split``), and compute its stage-one candidates
    (``retrieve=False`` skips stage one and leaves the run empty)."""
    from rerank_fix.data import load_eval_set
    from rerank_fix.finetune.data import normalise_query
    from rerank_fix.core.run import Run

    ec = cfg.eval
    data_path = cfg.resolve(ec.data)
    source = str(data_path) if data_path is not None and data_path.exists() else str(ec.data)
    try:
        full = load_eval_set(source, split=ec.split)
    except DataError as exc:
        raise DataError(f"eval.data / eval.split: {exc}") from None
    qids = sorted(full.queries)
    rng = random.Random(cfg.seed)
    if ec.dev_fraction is not None:
        rng.shuffle(qids)
        qids = sorted(qids[:max(1, round(ec.dev_fraction * len(qids)))])
    # Every dev query leaves training, even those beyond max_queries: they are the selection pool.
    exclude_ids = set(qids)
    exclude_texts = {normalise_query(full.queries[q].text) for q in qids}
    if ec.max_queries is not None and len(qids) > ec.max_queries:
        qids = sorted(random.Random(cfg.seed + 1).sample(qids, ec.max_queries))
    dev = full.subset(qids, name=f"{full.name} (dev)")
    test_ids, test_texts = held_out_queries(Path(source), ec.test_split) if Path(source).is_dir() else (set(), set())

    fs = ec.first_stage
    if not retrieve:
        first_stage = Run(fs, {})
    elif fs in ("dense", "bm25"):
        from rerank_fix.retrieve import make_retriever

        options: dict[str, Any] = {"show_progress": show_progress}
        if fs == "dense":
            options["model"] = ec.first_stage_model
        retriever = make_retriever(fs, **options)
        logger.info("stage one for %d dev queries: %s over %d documents", len(dev.queries), fs, len(dev.corpus))
        retriever.index(dev.corpus)
        first_stage = retriever.search(dev.query_texts, k=ec.depth)
    else:
        path = cfg.resolve(fs)
        if path is None or not path.is_file():
            raise ConfigError(f"eval.first_stage: {fs!r} is neither 'dense', 'bm25' nor an existing TREC run file")
        run = Run.from_trec(path)
        missing = [q for q in dev.queries if q not in run.results]
        if len(missing) == len(dev.queries):
            raise DataError(f"{path}: the run has none of the {len(dev.queries)} dev query ids "
                            f"(e.g. {next(iter(dev.queries))!r}); was it made for this collection?")
        if missing:
            logger.warning("%s lacks %d of %d dev queries; they score 0", path, len(missing), len(dev.queries))
        first_stage = Run(run.name, {q: run.results[q][:ec.depth] for q in dev.queries if q in run.results})
    info = {"collection": full.name, "split": ec.split, "dev_queries": len(dev.queries),
            "dev_pool_queries": len(exclude_ids), "dev_fraction": ec.dev_fraction, "first_stage": fs,
            "depth": ec.depth, "test_split": ec.test_split, "test_queries_checked": len(test_ids)}
    return DevSetup(dev, first_stage, exclude_ids, exclude_texts, test_ids, test_texts, info)


def build_stratifiers(dev: "EvalSet", stratify_by: str | None) -> "list[Stratifier] | None":
    """``None`` gives the shared defaults (length, typo, categorical metadata); a field name adds it alone."""
    if stratify_by is None:
        return None
    from rerank_fix.evaluate.strata import build_stratifiers as build

    return build(dev, [{"type": "length"}, {"type": "metadata", "field": stratify_by}])


def _evaluator_base():
    from sentence_transformers.base.evaluation import BaseEvaluator

    return BaseEvaluator


class DevRerankEvaluator(_evaluator_base()):  # type: ignore[misc]
    """Rerank the dev queries' stage-one top ``depth`` with the model being trained and score them.

    Plugs into sentence-transformers' trainer as its ``evaluator``. Returns the overall means of
    ``metrics`` (the trainer logs them as ``eval_<metric>``) plus ``score_std``, the spread of the
    reranker's scores, which exposes a collapsed model. The stratified breakdown of each evaluation
    is kept in :attr:`history`.

    Args:
        setup: Dev queries and stage-one run (see :func:`prepare_dev`).
        metrics: Metric names; the first is the selection metric.
        depth: Candidates reranked per query.
        max_length: Token limit per pair.
        batch_size: Pairs per forward pass.
        stratifiers: Shared stratifiers (``None``: defaults).
        show_progress: Progress bar while scoring.

    Example:
        >>> ev = DevRerankEvaluator(setup, ["ndcg@10", "recall@5"], depth=50, max_length=256)  # doctest: +SKIP
        >>> ev(model)["ndcg@10"]  # doctest: +SKIP
    """

    def __init__(self, setup: DevSetup, metrics: list[str], depth: int = 50, max_length: int = 512,
                 batch_size: int = 64, stratifiers: "list[Stratifier] | None" = None,
                 show_progress: bool = True) -> None:
        super().__init__()
        from rerank_fix.evaluate.evaluator import StratifiedEvaluator

        self.setup = setup
        self.metrics = list(metrics)
        self.primary_metric = self.metrics[0]
        self.greater_is_better = True
        self.depth, self.max_length, self.batch_size = depth, max_length, batch_size
        self.show_progress = show_progress
        # Few resamples: these CIs are for the log, the final report recomputes with the full count.
        self.stratified = StratifiedEvaluator(setup.dev, stratifiers=stratifiers, metrics=self.metrics,
                                              n_resamples=500, min_stratum_size=10)
        self.history: list[dict[str, Any]] = []

    def rerank(self, model: "CrossEncoder") -> "Run":
        from rerank_fix.rerank.cross_encoder import CrossEncoderReranker

        reranker = CrossEncoderReranker(model, max_length=self.max_length, batch_size=self.batch_size,
                                        show_progress=self.show_progress, name="tuned")
        return reranker.rerank(self.setup.first_stage, self.setup.dev.query_texts, self.setup.dev.corpus,
                               depth=self.depth)

    def __call__(self, model: "CrossEncoder", output_path: str | None = None, epoch: float = -1,
                 steps: int = -1) -> dict[str, float]:
        run = self.rerank(model)
        evaluation = self.stratified.evaluate(run)
        result = {m: float(evaluation.overall.metrics[m].mean) for m in self.metrics}
        scores = np.array([s for items in run.results.values() for _, s in items[:self.depth]], dtype=float)
        result["score_std"] = float(scores.std()) if len(scores) else 0.0
        # A fresh head scores everything alike by construction; only a trained model can collapse.
        if steps > 0 and len(scores) > 1 and result["score_std"] < COLLAPSE_STD:
            logger.warning("dev scores have collapsed (std %.2e over %d pairs): the model scores every pair "
                           "alike. Usually the learning rate is too high (FlagEmbedding issue #858); lower it "
                           "and keep warmup.", result["score_std"], len(scores))
        self.history.append({
            "step": int(steps), "epoch": float(epoch) if epoch is not None else None, "metrics": result,
            "strata": [{"dimension": s.dimension, "stratum": s.stratum, "n": s.n,
                        "metrics": {m: s.metrics[m].as_dict() for m in self.metrics}}
                       for s in evaluation.strata],
        })
        return result
