"""``fix``: from an evaluation set to a proven, deployable per-stratum decision.

1. Diagnose each stage one (per stratum, headroom rule recall@50 − recall@5 ≥ 0.25).
2. Generate candidates from what is available (:mod:`rerank_fix.fix.candidates`), skipping what cannot pay.
3. Run them all through one recipe (stage one and cross-encoder scores shared).
4. Choose a per-stratum routing by nested cross-validation (:mod:`rerank_fix.fix.selection`).
5. Check the guarantees (:mod:`rerank_fix.fix.guarantees`); recommend the safe baseline where they fail.
6. Write the bundle (:mod:`rerank_fix.fix.bundle`).
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.evaluator import ALL, Headroom
from rerank_fix.fix.candidates import (BLEND, TUNED_FUSION, Candidate, Skipped, fusion_candidates,
                                       rerank_candidates, rewrite_candidates, stage_one_candidates, usable_depths)
from rerank_fix.fix.guarantees import check_quality, check_safety
from rerank_fix.fix.result import METRIC, FixResult
from rerank_fix.fix.selection import nested_routing
from rerank_fix.pipeline.routing import RoutingPolicy
from rerank_fix.core.run import Run

logger = logging.getLogger("rerank_fix.fix")

COMPARE_METRICS = ["ndcg@10", "recall@5"]
HEADROOM_THRESHOLD = 0.25
#: Spelling correction is tried when at least this many queries (and this share) look typo-heavy.
MIN_TYPO_QUERIES, MIN_TYPO_SHARE = 5, 0.05
#: Quick-training cost on two CPU cores, roughly: training queries per minute of budget.
QUERIES_PER_BUDGET_MINUTE = 40


# ------------------------------------------------------------------------------------------ inputs
def _pairs(values: Mapping[str, str] | Sequence[str] | None, option: str) -> dict[str, str]:
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return {str(k): str(v) for k, v in values.items()}
    out: dict[str, str] = {}
    for value in values:
        name, sep, target = str(value).partition("=")
        if not sep or not name or not target:
            raise ConfigError(f"{option} {value!r}: expected NAME=VALUE, e.g. {option} "
                              + ("minilm=runs/finetune/best" if option == "--reranker" else "mine=runs/my.trec"))
        if name in out:
            raise ConfigError(f"{option} {name}=...: the name {name!r} is given twice")
        out[name] = target
    return out


def _check_name(name: str, option: str) -> None:
    from rerank_fix.pipeline.recipe import _NAME

    if not _NAME.match(name):
        raise ConfigError(f"{option} {name}=...: {name!r} is not a usable name; use letters, digits and _ . + -")


def _reranker_models(source: str, rerankers: dict[str, str], train_split: str | None, budget_minutes: float | None,
                     split: str, max_queries: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """``models:`` for the recipe, and notes on where each reranker comes from."""
    from rerank_fix.pipeline.recipe import Recipe, check_model_reference

    plain = Recipe(pipelines=[{"name": "dense", "stages": [{"stage": "dense"}]}])
    models: dict[str, Any] = {}
    notes: list[str] = []
    for name, target in rerankers.items():
        _check_name(name, "--reranker")
        problem = check_model_reference(plain, target)
        if problem:
            raise ConfigError(f"--reranker {name}={target}: {problem}")
        models[name] = {"path": str(Path(target).expanduser().resolve()) if Path(target).expanduser().exists()
                        else target}
        notes.append(f"reranker `{name}`: {target} (given with --reranker)")
    if budget_minutes is not None and budget_minutes <= 0:
        raise ConfigError(f"--budget-minutes must be > 0, got {budget_minutes}")
    if budget_minutes is not None and train_split is None:
        raise ConfigError("--budget-minutes: give --train-split too (the split to mine and train a reranker on)")
    if train_split is not None:
        if train_split == split:
            raise ConfigError(f"--train-split {train_split}: that is the evaluated split (--split {split}); "
                              "train on another split, or the evaluation would be scored on training queries")
        minutes = budget_minutes or 5.0
        max_queries = max(20, int(QUERIES_PER_BUDGET_MINUTE * minutes))
        models["quick"] = {"description": f"bundled MiniLM cross-encoder quick-trained on split {train_split}",
                           "quick_train": {"splits": [train_split], "max_queries": max_queries, "negatives": 3,
                                           "epochs": 1, "learning_rate": 2.0e-4, "max_length": 192}}
        notes.append(f"reranker `quick`: bundled MiniLM with hard negatives mined from dense retrieval on split "
                     f"`{train_split}` and fine-tuned through rerank_fix.finetune ({max_queries} training queries "
                     f"for a {minutes:g}-minute budget)")
    if not models and source == "demo":
        from rerank_fix.report.demo import demo_recipe_path
        from rerank_fix.pipeline.recipe import load_recipe

        # A sampled look trains on as many queries as it evaluates, as `rerank-fix demo --max-queries` does,
        # so both reuse one cached model.
        overrides = {"models.minilm-quick.quick_train.max_queries": max_queries} if max_queries else None
        spec = load_recipe(demo_recipe_path(), overrides).models["minilm-quick"]
        models["minilm-quick"] = spec.model_dump(mode="json", exclude_none=True)
        notes.append("reranker `minilm-quick`: the demo's quick-trained MiniLM cross-encoder (recipes/demo.yaml)")
    return models, notes


def _build_recipe(candidates: Sequence[Candidate], data: dict[str, Any], models: dict[str, Any], top_k: int,
                  folds: int, alpha: float, min_stratum_size: int, seed: int, latency_sample: int,
                  max_length: int | None) -> Any:
    from rerank_fix.pipeline.recipe import parse_recipe

    recall_ks = [k for k in (5, 10, 20, 50, 100) if k <= top_k]
    raw: dict[str, Any] = {
        "name": "rerank-fix fix",
        "data": data,
        "metrics": [f"recall@{k}" for k in recall_ks] + ["ndcg@10", "mrr@10"],
        "compare_metrics": COMPARE_METRICS,
        "alpha": alpha, "min_stratum_size": min_stratum_size, "folds": folds, "seed": seed,
        "latency": {"sample": latency_sample},
        "models": models,
        "defaults": {"dense": {"top_k": top_k}, "bm25": {"top_k": top_k}, "rrf": {"top_k": top_k},
                     **({"rerank": {"max_length": max_length}} if max_length else {})},
        "pipelines": [c.pipeline() for c in candidates],
    }
    return parse_recipe(raw, source="rerank-fix fix (generated recipe)")


def _has_room(headroom: Sequence[Headroom], min_stratum_size: int) -> list[Headroom]:
    return [h for h in headroom if h.has_room and (h.dimension == ALL or h.n >= min_stratum_size)]


def _route_dimensions(evaluator: Any) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]], dict[str, Any]]:
    """Dimensions a live query has: everything but ``query_set`` (how the evaluation was assembled) and
    hand-made label files."""
    from rerank_fix.evaluate.strata import LabelsFileStratifier
    from rerank_fix.pipeline.routing import NOT_AT_QUERY_TIME, stratifier_config

    labels, configs, objects = {}, {}, {}
    for s in evaluator.stratifiers or []:
        if s.dimension in NOT_AT_QUERY_TIME or isinstance(s, LabelsFileStratifier):
            continue
        try:
            configs[s.dimension] = stratifier_config(s)
        except ConfigError:
            continue
        labels[s.dimension] = evaluator.assignments[s.dimension]
        objects[s.dimension] = s
    return labels, configs, objects


# ----------------------------------------------------------------------------------- concrete values
def _deploy_tuning(result: Any, name: str) -> dict[str, Any] | None:
    for stage in result.result(name).info.get("stages", []):
        tuning = (stage.get("info") or {}).get("tuning")
        if tuning:
            return tuning["deploy"]
    return None


def concrete_stages(c: Candidate, result: Any) -> list[dict[str, Any]]:
    """The candidate's stages with every ``tune`` replaced by the value tuned on all judged queries."""
    stages = [s.model_dump(mode="json", exclude={"tune"}) for s in result.result(c.name).spec.stages]
    deploy = _deploy_tuning(result, c.name) if c.tuned else None
    for s in stages:
        if s["stage"] == "rrf":
            if deploy is not None and c.kind == TUNED_FUSION:
                weights = deploy["weights"]
                s["weights"] = [float(w) for w in (weights.values() if isinstance(weights, dict) else weights)]
                s["k"] = float(deploy["k"])
        if s["stage"] == "rerank" and deploy is not None and c.kind == BLEND:
            s["interpolate"] = float(deploy["first_stage_weight"])
    return stages


def concrete_run(c: Candidate, result: Any, concrete: list[dict[str, Any]]) -> Run:
    """The candidate's run over every query with its deploy values (untuned: its recipe run)."""
    from rerank_fix.fuse.interpolate import interpolate_scores
    from rerank_fix.fuse.rrf import reciprocal_rank_fusion

    if not c.tuned:
        return result.result(c.name).run
    if c.kind == TUNED_FUSION:
        rrf = next(s for s in concrete if s["stage"] == "rrf")
        parts = [result.result(n).run for n in c.components]
        return reciprocal_rank_fusion(parts, k=rrf["k"], weights=rrf["weights"], depth=rrf["depth"],
                                      name=c.name).top(rrf["top_k"])
    rerank = next(s for s in concrete if s["stage"] == "rerank")
    return interpolate_scores(result.result(c.base).run, result.result(c.alone).run, rerank["interpolate"],
                              rerank["depth"], name=c.name)


# ------------------------------------------------------------------------------------------ the job
def fix(data: str, out: str | Path, split: str = "test", rerankers: Mapping[str, str] | Sequence[str] | None = None,
        runs: Mapping[str, str] | Sequence[str] | None = None, train_split: str | None = None,
        budget_minutes: float | None = None, query_sets: Mapping[str, str] | None = None,
        queries_file: str | None = None, retrievers: Sequence[str] = ("dense", "bm25"),
        depths: Sequence[int] = (10, 20, 50, 100), top_k: int = 100, folds: int = 5, alpha: float = 0.05,
        min_stratum_size: int = 20, seed: int = 0, max_queries: int | None = None, latency_sample: int = 10,
        max_length: int | None = None, plots: bool = True, export: bool = True,
        show_progress: bool = True) -> FixResult:
    """Find what to deploy for this evaluation set, prove it, and write it as a bundle.

    Args:
        data: Evaluation data (``demo``, a BEIR folder ...).
        out: The bundle folder (new, empty, or a bundle an earlier ``fix`` wrote; checked before any work).
        split: The judged split scored.
        rerankers: ``name -> hub id or folder`` (``--reranker NAME=PATH``), or ``["NAME=PATH", ...]``.
        runs: ``name -> TREC run file`` of your own stage one (``--run NAME=FILE``).
        train_split: Mine and quick-train a reranker on this split first (never the evaluated one).
        budget_minutes: Training budget (sets the number of training queries; default 5 minutes).
        query_sets: ``name -> queries file`` scored together (clean and typo versions of the same queries).
        queries_file: Another queries file of the folder.
        retrievers: Built-in stage ones; the first is the baseline.
        depths: Reranking depths tried (capped by ``top_k``).
        top_k: Stage-one depth.
        folds / alpha / min_stratum_size / seed: Cross-validation and significance settings.
        max_queries: Evaluate a seeded sample (quick looks).
        latency_sample: Queries timed one at a time per candidate (0: off).
        max_length: Reranker token limit (default: the reranker's setting, 256).
        plots: Write PNG plots.
        export: Export local rerankers the recommendation uses into the bundle (else reference their path).

    Example:
        >>> from rerank_fix.fix import fix
        >>> result = fix("demo", "runs/demo/fix", depths=[10, 20], top_k=50)   # doctest: +SKIP
        >>> print(verdict_line(result))                                             # doctest: +SKIP
    """
    from rerank_fix.fix.bundle import check_out_path, write_bundle
    from rerank_fix.pipeline.recipe import STAGE_KINDS
    from rerank_fix.pipeline.runner import run_recipe

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    out = check_out_path(out)
    if not retrievers:
        raise ConfigError("fix needs at least one stage one (dense or bm25)")
    if top_k < 50:
        raise ConfigError(f"--top-k {top_k}: the headroom rule needs recall@50, so stage one must return at least 50")
    reranker_map, run_map = _pairs(rerankers, "--reranker"), _pairs(runs, "--run")
    for name, path in run_map.items():
        _check_name(name, "--run")
        if not Path(path).expanduser().is_file():
            raise ConfigError(f"--run {name}={path}: file not found; give a TREC run file (qid Q0 docid rank score tag)")
    source = data if data == "demo" else str(Path(data).expanduser().resolve())
    if source != "demo" and not Path(source).exists() and ":" not in data:
        raise ConfigError(f"--data {data}: no such folder or file; give a BEIR folder, a pairs file or 'demo'")
    data_spec = {"source": source, "split": split, "queries_file": queries_file, "query_sets": dict(query_sets or {}),
                 "max_queries": max_queries}
    models, notes = _reranker_models(source, reranker_map, train_split, budget_minutes, split, max_queries)
    depths = usable_depths(depths, top_k)
    common = dict(data=data_spec, top_k=top_k, folds=folds, alpha=alpha, min_stratum_size=min_stratum_size,
                  seed=seed, max_length=max_length)

    # 1. Diagnose each stage one (and their plain fusion, a possible rerank base).
    stage_ones = stage_one_candidates(list(retrievers), run_map, STAGE_KINDS)
    fusable = [c.name for c in stage_ones if c.name in ("dense", "bm25")]
    fusions = fusion_candidates(stage_ones, fusable)
    t = time.perf_counter()
    diagnosis = run_recipe(_build_recipe([*stage_ones, *fusions[:1]], models={}, latency_sample=0, **common),
                           show_progress=show_progress)
    seconds["diagnose"] = time.perf_counter() - t
    headroom = {r.name: diagnosis.evaluator.headroom(r.evaluation, HEADROOM_THRESHOLD) for r in diagnosis.results}
    typo_labels = diagnosis.evaluator.assignments.get("typo", {})
    n_typo = sum(1 for v in typo_labels.values() if v == "typo-heavy")
    n_queries = len(diagnosis.eval_set.qrels)

    # 2. Candidates, cheapest first; skip what cannot pay.
    skipped: list[Skipped] = []
    baseline = stage_ones[0]
    plain_rrf = fusions[0] if fusions else None
    candidates: list[Candidate] = [*stage_ones, *fusions]
    if not fusions:
        skipped.append(Skipped("RRF", "needs two stage ones that RRF can fuse (dense and bm25)"))
    bases = [baseline] + ([plain_rrf] if plain_rrf is not None else [])
    # Your own runs (--run) are stage ones a reranker may improve too.
    rerankable = bases + [c for c in stage_ones if c.name in run_map]
    if n_typo >= MIN_TYPO_QUERIES and n_typo >= MIN_TYPO_SHARE * n_queries:
        candidates += rewrite_candidates([b for b in bases if b.kind != "stage-one" or b.name in fusable])
    else:
        skipped.append(Skipped("spelling correction", f"only {n_typo} of {n_queries} queries look typo-heavy "
                                                      f"(tried from {MIN_TYPO_QUERIES} and {MIN_TYPO_SHARE:.0%})"))
    if not models:
        skipped.append(Skipped("reranking", "no reranker: give --reranker NAME=PATH_OR_HUB_ID, or --train-split "
                                            "(and --budget-minutes) to mine and train one first"))
    else:
        rerank_bases = []
        for b in rerankable:
            room = _has_room(headroom[b.name], min_stratum_size)
            if room:
                rerank_bases.append(b)
            else:
                best = max(headroom[b.name], key=lambda h: h.headroom)
                skipped.append(Skipped(f"reranking {b.name}",
                                       f"no stratum has headroom (largest recall@50 − recall@5: {best.headroom:.3f} "
                                       f"in {best.stratum}; the rule needs ≥ {HEADROOM_THRESHOLD})"))
        candidates += rerank_candidates(rerank_bases, list(models), depths)
        if not rerank_bases:
            # Nothing reranks, so no reranker was loaded or trained: say so instead of where it would come from.
            notes = [n for n in notes if not n.startswith("reranker `")]
            notes.append(f"reranker(s) {', '.join(models)} not loaded or trained: reranking cannot pay here")

    # 3. Run every candidate (stage one and cross-encoder pair scores shared; tuned ones cross-validated).
    t = time.perf_counter()
    result = run_recipe(_build_recipe(candidates, models=models, latency_sample=latency_sample, **common),
                        show_progress=show_progress)
    seconds["candidates"] = time.perf_counter() - t
    for name, m in result.models.items():
        if m.get("source") == "quick_train":
            notes.append(f"`{name}` trained on {m.get('train_queries')} queries of split `{m.get('split')}` "
                         f"({m.get('steps')} steps, {m.get('seconds')} s{', reused' if m.get('reused') else ''})")

    # 4. Nested-CV routing over every candidate.
    t = time.perf_counter()
    labels, configs, stratifiers = _route_dimensions(result.evaluator)
    runs_by_name = {c.name: result.result(c.name).run for c in candidates}
    specs = {c.name: result.result(c.name).spec for c in candidates}
    nested = nested_routing(candidates, runs_by_name, specs, result.eval_set.qrels, result.folds, labels, configs,
                            METRIC, alpha, min_stratum_size, seed)
    routed_eval = result.evaluator.evaluate(nested.run)
    routed_comparisons = result.evaluator.compare(routed_eval, result.baseline.evaluation, metrics=COMPARE_METRICS)
    seconds["selection"] = time.perf_counter() - t

    # 5. Guarantees.
    best = max(candidates, key=lambda c: result.result(c.name).evaluation.overall.metrics[METRIC].mean)
    routed_mean = routed_eval.overall.metrics[METRIC].mean
    guarantees = [check_safety(routed_comparisons, alpha, baseline.name),
                  check_quality(routed_mean, best.name, result.result(best.name).evaluation.overall.metrics[METRIC].mean,
                                METRIC)]
    deploy = nested.outcome.deploy
    if all(g.holds for g in guarantees):
        recommended = deploy
    else:
        recommended = RoutingPolicy(ALL, {"type": ALL}, {}, baseline.name, list(deploy.options), METRIC, alpha,
                                    [], deploy.n_train, 0.0)
        notes.append(f"a guarantee could not be shown, so the safe baseline ({baseline.name}) is recommended; the "
                     f"routing found was: {deploy.describe()}")

    # What the bundle will reproduce: the recommended policy applied to the evaluated queries.
    used = list(dict.fromkeys([recommended.fallback, *recommended.choices.values()]))
    concrete = {name: concrete_stages(next(c for c in candidates if c.name == name), result) for name in used}
    dim_labels = labels.get(recommended.dimension, {})
    choices = {q: recommended.choice_for(ALL if recommended.dimension == ALL else dim_labels.get(q, ALL))
               for q in result.eval_set.qrels}
    concrete_runs = {name: concrete_run(next(c for c in candidates if c.name == name), result, concrete[name])
                     for name in set(choices.values())}
    deployed = Run("recommended", {q: list(concrete_runs[choices[q]].results.get(q, [])) for q in choices})
    from rerank_fix.evaluate.metrics import per_query

    deployed_per_query = per_query(deployed, result.eval_set.qrels, list(result.evaluator.metrics))
    uses_ce = {c.name for c in candidates if c.uses_cross_encoder}
    share_ce = sum(1 for q in choices if choices[q] in uses_ce) / max(1, len(choices))
    p95 = _routed_p95(result, recommended, dim_labels)

    fix_result = FixResult(data_spec, result, candidates, skipped, headroom, nested, routed_eval, routed_comparisons,
                           guarantees, recommended, best.name, deployed, deployed_per_query, concrete, result.models,
                           stratifiers.get(recommended.dimension), share_ce, p95, seconds, notes)
    fix_result.depth_pairs = _depth_pairs(result, candidates, runs_by_name, choices, nested, routed_eval, labels)
    seconds["total_before_bundle"] = time.perf_counter() - started
    t = time.perf_counter()
    fix_result.bundle = write_bundle(fix_result, out, plots=plots, export=export)
    seconds["bundle"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    return fix_result


def _depth_pairs(result: Any, candidates: Sequence[Candidate], runs: Mapping[str, Run], recommended: Mapping[str, str],
                 nested: Any, routed_eval: Any, labels: Mapping[str, Mapping[str, str]]) -> Any:
    """Cross-encoder pairs of the chosen per-stratum policy vs reranking every query at one depth (fix/depth.py)."""
    from rerank_fix.fix.depth import depth_pairs

    ev = result.evaluator
    deploy = nested.outcome.deploy
    dim_labels = labels.get(deploy.dimension, {})
    chosen = {q: deploy.choice_for(ALL if deploy.dimension == ALL else dim_labels.get(q, ALL)) for q in recommended}
    per_query = {c.name: result.result(c.name).evaluation.per_query[METRIC] for c in candidates}
    estimates = {c.name: result.result(c.name).evaluation.overall.metrics[METRIC] for c in candidates}
    return depth_pairs(candidates, runs, chosen, nested.outcome.choices, recommended, routed_eval.per_query[METRIC],
                       routed_eval.overall.metrics[METRIC], per_query, estimates, ev.confidence, ev.n_resamples,
                       ev.seed)


def _routed_p95(result: Any, policy: RoutingPolicy, labels: Mapping[str, str]) -> float:
    """p95 over the latency sample of the pipeline each sampled query is routed to (one query at a time)."""
    from rerank_fix.pipeline.pipeline import percentile

    totals = []
    for q in result.latency_queries:
        choice = policy.choice_for(ALL if policy.dimension == ALL else labels.get(q, ALL))
        stages = result.result(choice).stages
        if stages and all(q in s.latency_ms for s in stages):
            totals.append(sum(s.latency_ms[q] for s in stages))
    return percentile(totals, 95) if totals else math.nan
