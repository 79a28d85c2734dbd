"""``diagnose`` as a built-in recipe: how good is stage one, per stratum, and where can reranking help at all?

:func:`diagnose_recipe` turns the command's settings into an ordinary :class:`~rerank_fix.pipeline.recipe.Recipe`
(one pipeline per stage-one system, plus ``<system>+rerank`` with a reranker), :func:`diagnose` runs it through
:func:`~rerank_fix.pipeline.runner.run_recipe` and adds the headroom table. The equivalent recipe YAML::

    name: diagnose
    metrics: [recall@5, recall@10, recall@50, recall@100, ndcg@10, mrr@10]
    latency: {sample: 0}
    pipelines:
      - {name: dense, stages: [{dense: {top_k: 100}}]}
      - {name: bm25, stages: [{bm25: {top_k: 100}}]}
      - {name: dense+rerank, stages: [{dense: {top_k: 100}}, {rerank: {model: MODEL, depth: 50}}]}
    also_compare: [[dense+rerank, dense]]
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rerank_fix.core.run import Run
from rerank_fix.core.types import EvalSet
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.evaluator import Headroom, RunEvaluation, StratifiedEvaluator, StratumComparison
from rerank_fix.evaluate.metrics import DEFAULT_METRICS

logger = logging.getLogger("rerank_fix.diagnose")

RERANKED = "+rerank"


@dataclass
class DiagnoseConfig:
    """Settings of one diagnose job.

    Args:
        retrievers: Stage-one systems to diagnose: ``dense``, ``bm25`` or both.
        dense_model: Bi-encoder id or path; ``None`` is the bundled all-MiniLM-L6-v2.
        reranker: Cross-encoder id or path; when set, its effect on the top ``rerank_depth`` is measured.
        rerank_depth: How many stage-one candidates the reranker reorders.
        headroom_threshold: Reranking "has room to help" where recall@50 − recall@5 is at least this.
        min_stratum_size: Smaller strata are flagged too small to judge.
        k: Stage-one depth (must cover recall@100).
        runs: ``name -> TREC run file``: the user's own stage-one results, diagnosed like a built-in retriever.
        only_covered: Score only the queries every run file covers (otherwise uncovered queries score 0).
        strata: Stratifier settings, as the recipe's ``strata:`` section (length buckets, typo share ...).
        stages: Extra options per stage kind (``{"bm25": {"k1": 1.2}}``), as the recipe's ``defaults:``.

    Example:
        >>> DiagnoseConfig(retrievers=("bm25",)).k
        100
    """

    retrievers: Sequence[str] = ("dense",)
    dense_model: str | None = None
    reranker: str | None = None
    rerank_depth: int = 50
    rerank_max_length: int = 512
    rerank_batch_size: int = 32
    trust_remote_code: bool = False
    headroom_threshold: float = 0.25
    min_stratum_size: int = 20
    alpha: float = 0.05
    k: int = 100
    cache_dir: str | None = None
    metrics: Sequence[str] = DEFAULT_METRICS
    compare_metrics: Sequence[str] = ("ndcg@10", "recall@5", "mrr@10")
    runs: Mapping[str, str] = field(default_factory=dict)
    only_covered: bool = False
    strata: Mapping[str, Any] = field(default_factory=dict)
    stages: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [r for r in self.retrievers if r not in ("dense", "bm25")]
        if unknown or not (self.retrievers or self.runs):
            raise ConfigError(f"--retriever must be dense, bm25 or both, got {', '.join(unknown) or 'nothing'}")
        clash = sorted(set(self.runs) & {"dense", "bm25"} | {n for n in self.runs if n.endswith(RERANKED)})
        if clash:
            raise ConfigError(f"--run {clash[0]}=...: that name is taken; call the run something else")
        if not 0 < self.headroom_threshold < 1:
            raise ConfigError(f"--headroom-threshold must be between 0 and 1, got {self.headroom_threshold}")
        if self.rerank_depth < 1 or self.rerank_depth > self.k:
            raise ConfigError(f"--rerank-depth must be between 1 and the stage-one depth {self.k}, got {self.rerank_depth}")
        if self.min_stratum_size < 1:
            raise ConfigError("--min-stratum-size must be at least 1")

    @property
    def systems(self) -> list[str]:
        """Stage-one systems in report order: the built-in retrievers, then the run files."""
        return [*self.retrievers, *self.runs]


@dataclass
class SystemDiagnosis:
    run: Run
    evaluation: RunEvaluation
    headroom: list[Headroom]
    reranked: Run | None = None
    reranked_evaluation: RunEvaluation | None = None
    comparisons: list[StratumComparison] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Diagnosis:
    eval_set_name: str
    n_queries: int
    config: DiagnoseConfig
    systems: dict[str, SystemDiagnosis]
    evaluator: StratifiedEvaluator

    def as_dict(self) -> dict:
        out = {"dataset": self.eval_set_name, "n_queries": self.n_queries,
               "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self.config).items()},
               "strata": {dim: _counts(labels) for dim, labels in self.evaluator.assignments.items()},
               "systems": {}}
        for name, system in self.systems.items():
            entry = {"evaluation": system.evaluation.as_dict(), "headroom": [h.as_dict() for h in system.headroom]}
            if system.info:
                entry["stage_one"] = system.info
            if system.reranked_evaluation is not None:
                entry["reranked"] = system.reranked_evaluation.as_dict()
                entry["rerank_effect"] = [c.as_dict() for c in system.comparisons]
            out["systems"][name] = entry
        return out


def _counts(labels: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def sample_queries(eval_set: EvalSet, n: int, seed: int = 0) -> EvalSet:
    """A seeded sample of ``n`` judged queries (all of them when there are fewer)."""
    import random

    if n < 1:
        raise ConfigError(f"--max-queries must be at least 1, got {n}")
    qids = sorted(eval_set.qrels)
    if n >= len(qids):
        return eval_set
    keep = sorted(random.Random(seed).sample(qids, n))
    return eval_set.subset(keep, name=f"{eval_set.name} (sample of {n})")


def diagnose_recipe(config: DiagnoseConfig, source: str = "demo", split: str = "test") -> "Any":
    """The recipe ``diagnose`` runs: one pipeline per stage-one system, and each reranked with a reranker."""
    from rerank_fix.pipeline.recipe import parse_recipe

    stage_one: dict[str, Any] = {}
    for kind in config.retrievers:
        options = {**dict(config.stages.get(kind, {})), "top_k": config.k}
        if kind == "dense" and config.dense_model:
            options["model"] = config.dense_model
        stage_one[kind] = {kind: options}
    for name, path in config.runs.items():
        stage_one[name] = {"run": {"path": str(path), "top_k": config.k, "only_covered": config.only_covered}}
    pipelines = [{"name": name, "stages": [stage]} for name, stage in stage_one.items()]
    pairs = []
    models: dict[str, Any] = {}
    if config.reranker:
        from rerank_fix.rerank.http_base import named_http_reranker

        http = named_http_reranker(config.reranker)
        if http is not None:  # a configs/models.yaml name with an http: block
            models[config.reranker] = {"http": http}
        rerank = {"rerank": {"model": config.reranker, "depth": config.rerank_depth,
                             "max_length": config.rerank_max_length, "batch_size": config.rerank_batch_size,
                             "trust_remote_code": config.trust_remote_code}}
        pipelines += [{"name": name + RERANKED, "stages": [stage, rerank]} for name, stage in stage_one.items()]
        pairs = [[name + RERANKED, name] for name in stage_one]
    metrics = list(dict.fromkeys([*config.metrics, "recall@5", "recall@50"]))
    raw = {"name": "diagnose", "data": {"source": source, "split": split}, "metrics": metrics,
           "compare_metrics": [m for m in config.compare_metrics if m in metrics], "alpha": config.alpha,
           "min_stratum_size": config.min_stratum_size, "latency": {"sample": 0}, "strata": dict(config.strata),
           "pipelines": pipelines, "also_compare": pairs, **({"models": models} if models else {})}
    return parse_recipe(raw, source="diagnose settings")


def diagnose(eval_set: EvalSet, config: DiagnoseConfig, show_progress: bool = True) -> Diagnosis:
    """Run stage one through the recipe runner, score it per stratum, apply the headroom rule and, with a
    reranker, measure what it does on top of each system."""
    from rerank_fix.pipeline.runner import run_recipe

    recipe = diagnose_recipe(config, eval_set.name)
    logger.info("stage one: %s over %d documents, %d queries", ", ".join(config.systems), len(eval_set.corpus),
                len(eval_set.queries))
    result = run_recipe(recipe, show_progress=show_progress, embedding_cache=config.cache_dir, eval_set=eval_set)
    systems: dict[str, SystemDiagnosis] = {}
    for name in config.systems:
        base = result.result(name)
        system = SystemDiagnosis(base.run, base.evaluation,
                                 result.evaluator.headroom(base.evaluation, config.headroom_threshold),
                                 info=base.stages[0].info if name in config.runs else {})
        if config.reranker:
            reranked = result.result(name + RERANKED)
            system.reranked, system.reranked_evaluation = reranked.run, reranked.evaluation
            system.comparisons = result.pairwise[(name + RERANKED, name)]
        systems[name] = system
    return Diagnosis(result.eval_set.name, len(result.eval_set.queries), config, systems, result.evaluator)
