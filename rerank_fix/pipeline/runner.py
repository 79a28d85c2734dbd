"""Run a recipe: every pipeline on the same queries, evaluated per stratum against the baseline."""
from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rerank_fix.core.types import EvalSet, Query
from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.evaluator import HELPS, HURTS, RunEvaluation, StratifiedEvaluator, StratumComparison
from rerank_fix.pipeline.pipeline import (LatencyStats, Pipeline, PipelineOutput, StageTrace, TuningContext,
                                          latency_sample)
from rerank_fix.pipeline.recipe import (DataSpec, PipelineSpec, Recipe, StrataSpec,
                                        check_model_reference)
from rerank_fix.pipeline.routing import (NOT_AT_QUERY_TIME, RoutedOutcome, RoutingPolicy, cross_validated_routing,
                                         stratifier_config, time_routing)
from rerank_fix.pipeline.tuning import make_folds
from rerank_fix.pipeline.workspace import Workspace
from rerank_fix.core.run import Run

logger = logging.getLogger("rerank_fix.pipeline")

QUERY_SET = "query_set"
SET_SEPARATOR = "::"


# ------------------------------------------------------------------------------------------ data
def load_data(spec: DataSpec, recipe: Recipe | None = None, seed: int = 0) -> EvalSet:
    """The evaluation set a recipe names, with ``query_sets`` merged into one set of queries.

    With query sets, each query appears once per set as ``<set>::<query_id>`` with metadata
    ``query_set`` (a stratum dimension) and ``base_query_id``; all share the corpus and judgements.
    """
    from rerank_fix.data import load_eval_set

    if not spec.source:
        raise ConfigError("data.source: no evaluation data; pass --data (a BEIR folder, 'demo', ...) "
                          "or set data.source in the recipe")
    source = spec.source if spec.source == "demo" or recipe is None else str(recipe.resolve_path(spec.source))
    if not spec.query_sets:
        eval_set = load_eval_set(source, spec.split, queries_file=spec.queries_file)
    else:
        merged_queries: dict[str, Query] = {}
        merged_qrels: dict[str, dict[str, int]] = {}
        corpus = None
        names = []
        for name, file in spec.query_sets.items():
            part = load_eval_set(source, spec.split, queries_file=file)
            corpus = corpus if corpus is not None else part.corpus
            names.append(name)
            for qid, q in part.queries.items():
                new_id = f"{name}{SET_SEPARATOR}{qid}"
                merged_queries[new_id] = Query(new_id, q.text, {**q.metadata, QUERY_SET: name, "base_query_id": qid})
                merged_qrels[new_id] = dict(part.qrels[qid])
        assert corpus is not None
        eval_set = EvalSet(f"{Path(source).name}/{spec.split} [{' vs '.join(names)}]", corpus, merged_queries,
                           merged_qrels)
    if spec.max_queries and spec.max_queries < len(eval_set.qrels):
        groups = query_groups(eval_set)
        unique = sorted(set(groups.values()))
        keep_groups = set(random.Random(seed).sample(unique, min(len(unique), max(1, spec.max_queries))))
        eval_set = eval_set.subset([q for q in eval_set.qrels if groups[q] in keep_groups],
                                   name=f"{eval_set.name} (sample of {len(keep_groups)})")
    return eval_set


def query_groups(eval_set: EvalSet) -> dict[str, str]:
    """Queries that are versions of one query (query sets) share a group; otherwise each is its own."""
    return {qid: str(q.metadata.get("base_query_id", qid)) for qid, q in eval_set.queries.items()}


def build_stratifiers(spec: StrataSpec, eval_set: EvalSet, base_dir: Any = None) -> list[Any]:
    """Length (with the recipe's buckets), typo vs clean, categorical metadata fields, a labels file and the
    recipe's ``custom`` stratifiers, all built through the stratifier registry."""
    from rerank_fix.evaluate.strata import build_stratifiers as build
    from rerank_fix.evaluate.strata import metadata_fields, stratifier_configs

    fields = metadata_fields(eval_set.queries.values()) if spec.fields is None else list(spec.fields)
    if any(QUERY_SET in q.metadata for q in eval_set.queries.values()) and QUERY_SET not in fields:
        fields.insert(0, QUERY_SET)
    configs = stratifier_configs(eval_set, spec.length_buckets, spec.typo, spec.typo_share, fields, spec.labels_file,
                                 spec.custom, hidden_fields=("base_query_id", "original_text", "rewrite_status"))
    return build(eval_set, configs, base_dir if callable(base_dir) else None)


# ---------------------------------------------------------------------------------------- models
def resolve_models(recipe: Recipe, eval_set: EvalSet, overrides: Mapping[str, str] | None = None,
                   show_progress: bool = True, cache_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """``name used by a rerank stage -> {"path", "source", ...}``; quick-trains (or reuses) as needed.

    Args:
        overrides: ``alias -> hub id or folder`` from ``--model alias=PATH``; wins over the recipe.
    """
    from rerank_fix.pipeline.quick_train import quick_train

    used = list(dict.fromkeys(s.model for p in recipe.pipelines for s in p.stages if s.role == "rerank"))
    for alias in overrides or {}:
        if alias not in used:
            raise ConfigError(f"--model {alias}=...: no rerank stage uses a model named {alias!r} "
                              f"(used: {', '.join(used) or 'none'})")
    out: dict[str, dict[str, Any]] = {}
    for name in used:
        if overrides and name in overrides:
            target = overrides[name]
            problem = check_model_reference(recipe.model_copy(update={"models": {}}), target)
            if problem:
                raise ConfigError(f"--model {name}={target}: {problem}")
            resolved = recipe.resolve_path(target)
            out[name] = {"path": str(resolved) if resolved.exists() else target, "source": "--model"}
            continue
        spec = recipe.models.get(name.removeprefix("trained:"))
        if spec is not None and spec.http is not None:
            from rerank_fix.rerank.http_base import HttpRerankerConfig

            config = HttpRerankerConfig.from_dict(spec.http, f"models.{name}.http")
            out[name] = {"path": config.to_uri(), "source": f"models.{name}.http"}
            continue
        if spec is None:
            resolved = recipe.resolve_path(name)
            out[name] = {"path": str(resolved) if resolved.exists() else name, "source": "hub id or path"}
        elif spec.path is not None:
            resolved = recipe.resolve_path(spec.path)
            out[name] = {"path": str(resolved) if resolved.exists() else spec.path, "source": f"models.{name}.path"}
        else:
            assert spec.quick_train is not None
            source = spec.quick_train.data or recipe.data.source
            if source is None:
                raise ConfigError(f"models.{name}.quick_train: no training data (set data or --data)")
            source = source if source == "demo" else str(recipe.resolve_path(source))
            same_source = spec.quick_train.data is None
            trained = quick_train(spec.quick_train, source, recipe.data.split if same_source else None,
                                  eval_set.queries if same_source else None, alias=name,
                                  cache_dir=cache_dir, show_progress=show_progress)
            out[name] = {"path": str(trained.path), "source": "quick_train", "reused": trained.reused,
                         **trained.info}
    return out


# --------------------------------------------------------------------------------------- results
@dataclass
class PipelineResult:
    """One pipeline's run, its evaluation, its stages with latency, and details (tuning, routing).

    Args:
        spec: The pipeline as the recipe gives it.
        run: Its final ranking of every evaluated query.
        evaluation: Per-query and per-stratum scores.
        stages: Stage traces (batch time, per-query latency, details).
        latency: Per-query latency of the whole pipeline.
        info: Details for the report.
        routing: For routed pipelines, the cross-validated choices and the deployable policy.

    Example:
        >>> result = run_recipe(load_recipe("recipes/demo.yaml"))  # doctest: +SKIP
        >>> result.result("routed").routing.deploy.describe()     # doctest: +SKIP
    """

    spec: PipelineSpec
    run: Run
    evaluation: RunEvaluation
    stages: list[StageTrace]
    latency: LatencyStats
    info: dict[str, Any] = field(default_factory=dict)
    routing: RoutedOutcome | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return "routed" if self.spec.routed else "stages"


@dataclass
class ComparisonResult:
    """Everything a comparison report shows.

    Args:
        recipe: The recipe run.
        eval_set: The evaluated queries.
        evaluator: The shared stratified evaluator (its stratifiers and settings).
        results: One per pipeline, baseline first.
        comparisons: ``pipeline -> comparisons against the baseline`` (every stratum × compare metric).
        pairwise: ``(treatment, baseline) -> comparisons`` for the recipe's ``also_compare`` pairs.
        models: Resolved reranker models.
        cache: Stage-one sharing statistics.
        seconds: Wall time of the phases.

    Example:
        >>> result = run_recipe(load_recipe("recipes/demo.yaml"))  # doctest: +SKIP
        >>> result.significant()[:2]                              # doctest: +SKIP
    """

    recipe: Recipe
    eval_set: EvalSet
    evaluator: StratifiedEvaluator
    results: list[PipelineResult]
    comparisons: dict[str, list[StratumComparison]]
    models: dict[str, dict[str, Any]]
    cache: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    latency_queries: list[str] = field(default_factory=list)
    folds: list[list[str]] = field(default_factory=list)
    pairwise: dict[tuple[str, str], list[StratumComparison]] = field(default_factory=dict)

    @property
    def baseline(self) -> PipelineResult:
        return self.results[0]

    def result(self, name: str) -> PipelineResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def comparison(self, pipeline: str, dimension: str, stratum: str, metric: str) -> StratumComparison:
        for c in self.comparisons.get(pipeline, []):
            if (c.dimension, c.stratum, c.metric) == (dimension, stratum, metric):
                return c
        raise KeyError((pipeline, dimension, stratum, metric))

    def significant(self) -> list[tuple[str, StratumComparison]]:
        """Every ``(pipeline, comparison)`` significant after Holm, worst harm first within a pipeline."""
        out = []
        for name, comps in self.comparisons.items():
            found = [c for c in comps if c.verdict in (HELPS, HURTS)]
            found.sort(key=lambda c: (c.verdict != HURTS, c.metric, c.delta.mean))
            out.extend((name, c) for c in found)
        return out

    def significantly_worse(self, pipeline: str) -> list[StratumComparison]:
        """Strata (any compare metric) where ``pipeline`` is significantly worse than the baseline."""
        return [c for c in self.comparisons.get(pipeline, []) if c.verdict == HURTS]


# ---------------------------------------------------------------------------------------- runner
def _route_dimensions(spec_dims: list[str] | None, evaluator: StratifiedEvaluator, where: str) -> list[str]:
    available = {s.dimension: s for s in evaluator.stratifiers or []}
    if spec_dims is None:
        return [d for d, s in available.items()
                if d not in NOT_AT_QUERY_TIME and getattr(s, "at_query_time", True)]
    for d in spec_dims:
        if d not in available:
            raise ConfigError(f"{where}.dimensions: no stratifier dimension {d!r} (available: "
                              f"{', '.join(available) or 'none'})")
    return list(spec_dims)


def run_recipe(recipe: Recipe, model_overrides: Mapping[str, str] | None = None, show_progress: bool = True,
               embedding_cache: str | Path | None = None, model_cache: str | Path | None = None,
               only: list[str] | None = None, score_cache: str | Path | bool | None = None,
               eval_set: EvalSet | None = None) -> ComparisonResult:
    """Run every pipeline of ``recipe`` on the same queries and compare each with the baseline.

    Args:
        recipe: A validated recipe (see :func:`~rerank_fix.pipeline.recipe.load_recipe`).
        model_overrides: ``alias -> hub id or folder`` for rerank models (``--model``).
        show_progress: Progress bars.
        embedding_cache: Dense embedding cache folder (default: ``$RERANK_FIX_CACHE/embeddings``).
        model_cache: Where quick-trained models are kept.
        only: Run just these pipelines (plus the baseline and whatever routed ones need).
        score_cache: Cross-encoder score cache folder (default ``$RERANK_FIX_CACHE/scores``); False: none.
        eval_set: Already loaded evaluation data (``diagnose`` loads its own); default: the recipe's ``data``.

    Example:
        >>> from rerank_fix.pipeline.recipe import load_recipe
        >>> result = run_recipe(load_recipe("recipes/demo.yaml"))  # doctest: +SKIP
        >>> result.significant()[:1]                              # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    pipelines = _select(recipe, only)
    anywhere = {s.model for p in recipe.pipelines for s in p.stages if s.role == "rerank"}
    for alias in model_overrides or {}:
        if alias not in anywhere:
            raise ConfigError(f"--model {alias}=...: no rerank stage uses a model named {alias!r} "
                              f"(used: {', '.join(sorted(anywhere)) or 'none'})")
    eval_set = eval_set if eval_set is not None else load_data(recipe.data, recipe, recipe.seed)
    eval_set = _restrict(eval_set, pipelines, recipe)
    timings["load_data"] = time.perf_counter() - started
    logger.info("evaluating %d pipelines on %s", len(pipelines), eval_set)

    t = time.perf_counter()
    stratifiers = build_stratifiers(recipe.strata, eval_set, lambda p: str(recipe.resolve_path(p)))
    evaluator = StratifiedEvaluator(eval_set, stratifiers, metrics=recipe.all_metrics(),
                                    min_stratum_size=recipe.min_stratum_size, alpha=recipe.alpha, seed=recipe.seed)
    timings["stratify"] = time.perf_counter() - t

    t = time.perf_counter()
    used = {s.model for p in pipelines for s in p.stages if s.role == "rerank"}
    trimmed = recipe.model_copy(update={"pipelines": pipelines})
    models = resolve_models(trimmed, eval_set, {k: v for k, v in (model_overrides or {}).items() if k in used},
                            show_progress, model_cache) if used else {}
    timings["models"] = time.perf_counter() - t

    workspace = Workspace(eval_set.corpus, embedding_cache=embedding_cache, show_progress=show_progress,
                          score_cache=score_cache)
    t = time.perf_counter()
    first_stages = []
    for p in pipelines:
        first = p.first_stage
        if first is not None:
            first_stages.extend(first.components())
    workspace.prepare(first_stages)
    timings["index"] = time.perf_counter() - t

    qids = list(eval_set.qrels)
    groups = query_groups(eval_set)
    # Folds are needed only by tuned and routed pipelines: too few queries for them is an error only there.
    try:
        folds, no_folds = make_folds(qids, recipe.folds, recipe.seed, groups), None
    except ConfigError as exc:
        folds, no_folds = [], exc
    tuning = TuningContext(eval_set.qrels, folds, recipe.folds, recipe.seed, groups, no_folds)
    sample_ids = latency_sample(qids, recipe.latency.sample, recipe.seed)
    sample = {q: eval_set.queries[q] for q in sample_ids}
    model_paths = {name: m["path"] for name, m in models.items()}

    outputs: dict[str, PipelineOutput] = {}
    runners: dict[str, Pipeline] = {}
    t = time.perf_counter()
    for p in pipelines:
        if p.routed:
            continue
        logger.info("pipeline %s", p.name)
        runner = Pipeline(p, workspace, model_paths)
        outputs[p.name] = runner.run(eval_set.queries, tuning)
        runners[p.name] = runner
    timings["pipelines"] = time.perf_counter() - t

    t = time.perf_counter()
    if sample:
        for name, runner in runners.items():
            runner.probe(outputs[name], sample)
    timings["latency_probe"] = time.perf_counter() - t

    t = time.perf_counter()
    results: dict[str, PipelineResult] = {}
    for p in pipelines:
        if p.routed:
            continue
        out = outputs[p.name]
        results[p.name] = PipelineResult(p, out.run, evaluator.evaluate(out.run), out.stages, out.total_latency(),
                                         {"stages": [s.as_dict() for s in out.stages]})
    for p in pipelines:
        if p.routed:
            results[p.name] = _run_routed(p, recipe, results, outputs, evaluator, eval_set, folds, sample)
    ordered = [results[p.name] for p in pipelines]
    timings["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    baseline = ordered[0]
    comparisons = {r.name: evaluator.compare(r.evaluation, baseline.evaluation, metrics=recipe.compare_metrics)
                   for r in ordered[1:]}
    by_name = {r.name: r for r in ordered}
    # Pairs whose pipelines --only left out are skipped, not an error: the user asked for fewer pipelines.
    pairwise = {(a, b): evaluator.compare(by_name[a].evaluation, by_name[b].evaluation, metrics=recipe.compare_metrics)
                for a, b in recipe.also_compare if a in by_name and b in by_name}
    timings["compare"] = time.perf_counter() - t
    result = ComparisonResult(recipe, eval_set, evaluator, ordered, comparisons, models,
                              cache=workspace.stats.as_dict(), seconds=timings, latency_queries=sample_ids,
                              folds=folds, pairwise=pairwise)
    timings["total"] = time.perf_counter() - started
    return result


def _restrict(eval_set: EvalSet, pipelines: list[PipelineSpec], recipe: Recipe) -> EvalSet:
    """Limit evaluation to the queries every restricting stage allows (``run: {only_covered: true}``)."""
    keep: set[str] | None = None
    for p in pipelines:
        for stage in p.stages:
            for part in [stage, *stage.components()]:
                allowed = part.restrict_queries(recipe)
                if allowed is not None:
                    keep = allowed if keep is None else keep & allowed
    if keep is None:
        return eval_set
    kept = [q for q in eval_set.qrels if q in keep]
    if not kept:
        raise ConfigError("only_covered: the run files cover none of the judged queries; check the query ids "
                          "(they must match the qrels) or drop --only-covered")
    logger.info("scoring only the %d of %d judged queries the run files cover", len(kept), len(eval_set.qrels))
    return eval_set.subset(kept, name=f"{eval_set.name} (the {len(kept)} queries the run files cover)")


def _select(recipe: Recipe, only: list[str] | None) -> list[PipelineSpec]:
    if not only:
        return list(recipe.pipelines)
    names = {p.name for p in recipe.pipelines}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise ConfigError(f"--only: no pipeline named {', '.join(map(repr, unknown))} "
                          f"(recipe has: {', '.join(p.name for p in recipe.pipelines)})")
    keep = {recipe.baseline.name, *only}
    for p in recipe.pipelines:
        if p.name in keep:
            keep.update(name for spec in p.specs for name in spec.needs())
    return [p for p in recipe.pipelines if p.name in keep]


def _run_routed(p: PipelineSpec, recipe: Recipe, results: Mapping[str, PipelineResult],
                outputs: Mapping[str, PipelineOutput], evaluator: StratifiedEvaluator, eval_set: EvalSet,
                folds: list[list[str]], sample: Mapping[str, Query]) -> PipelineResult:
    assert p.route is not None
    route = p.route
    where = f"pipeline {p.name!r} route"
    stratifiers = {s.dimension: s for s in evaluator.stratifiers or []}
    if route.policy is not None:
        policy = RoutingPolicy.load(recipe.resolve_path(route.policy))
        missing = [o for o in policy.options if o not in results]
        if missing:
            raise ConfigError(f"{where}.policy: the policy routes to {', '.join(missing)}, which this recipe "
                              f"does not run (it runs: {', '.join(results)})")
        stratifier = stratifiers.get(policy.dimension)
        if stratifier is not None and stratifier_config(stratifier) != policy.stratifier:
            stratifier = None  # settings differ from the evaluator's: rebuild exactly what the policy says
        choices = policy.route(eval_set.queries, eval_set.corpus, stratifier)
        outcome = RoutedOutcome(choices, [], policy)
        options = policy.options
        honesty = "applied a saved policy (not fitted here; if it was fitted on these queries the figure is optimistic)"
    else:
        options = list(route.between or [])
        dims = _route_dimensions(route.dimensions, evaluator, where)
        metric = route.metric
        scores = {o: results[o].evaluation.per_query[metric] for o in options}
        labels = {d: evaluator.assignments[d] for d in dims}
        configs = {d: stratifier_config(stratifiers[d]) for d in dims}
        n_folds = route.folds or recipe.folds
        route_folds = folds if folds and n_folds == len(folds) else make_folds(
            list(eval_set.qrels), n_folds, recipe.seed, query_groups(eval_set))
        outcome = cross_validated_routing(scores, labels, configs, route_folds, options, metric,
                                          route.alpha or recipe.alpha, route.min_stratum_size, seed=recipe.seed)
        honesty = f"policy chosen on {len(route_folds) - 1} folds, scored on the held-out fold ({len(route_folds)}-fold CV)"
    run = Run(p.name, {q: list(results[outcome.choices[q]].run.results.get(q, [])) for q in eval_set.qrels})
    # Latency: routing itself plus the chosen pipeline's stages, per sampled query.
    deploy = outcome.deploy
    stratifier = stratifiers.get(deploy.dimension)
    route_ms = time_routing(deploy, sample, stratifier) if sample else {}
    chosen_ms: dict[str, float] = {}
    for q in sample:
        per_q = outputs[outcome.choices[q]].per_query_total_ms()
        if q in per_q:
            chosen_ms[q] = per_q[q]
    n = len(eval_set.qrels)
    route_trace = StageTrace(f"route({deploy.dimension})", "route", 0.0, False, {"policy": deploy.describe()},
                             route_ms, n)
    chosen_seconds = sum(sum(s.seconds for s in outputs[o].stages) for o in options) / max(1, len(options))
    chosen_trace = StageTrace("chosen pipeline", "routed", chosen_seconds, True,
                              {"queries_per_choice": outcome.as_dict()["queries_per_choice"]}, chosen_ms, n)
    stages = [route_trace, chosen_trace]
    totals = [route_ms[q] + chosen_ms[q] for q in sample if q in route_ms and q in chosen_ms]
    latency = LatencyStats.of(totals) if totals else LatencyStats(math.nan, math.nan, 0, amortised=True)
    info = {"routing": outcome.as_dict(), "honesty": honesty, "options": options,
            "stages": [s.as_dict() for s in stages]}
    return PipelineResult(p, run, evaluator.evaluate(run), stages, latency, info, outcome)
