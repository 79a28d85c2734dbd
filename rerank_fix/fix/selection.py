"""Choosing a per-stratum routing over every candidate by nested cross-validation.

Outer loop: for each fold, a routing policy is fitted on the other folds only
(:func:`~rerank_fix.pipeline.routing.fit_policy`: the baseline stays unless another candidate is
significantly better in a stratum, Holm-adjusted) and applied to the held-out fold. Candidates with tuned
values (weighted RRF, reranker blends) are re-tuned *inside* each outer fold on its training folds only
(inner CV through :mod:`rerank_fix.pipeline.tuning`), so no value that decides a held-out query's ranking
was ever chosen with that query's judgements.

Then the policy is shrunk toward simplicity: in a stratum routed to candidate X, the cheapest eligible
candidate C (the baseline, or one that is itself significantly better than the baseline there) replaces
X unless X is significantly better than C on the training queries, or X's edge there exceeds the
quality guarantee's tolerance (0.005; shrinking must not cost more than the guarantee allows). So plain RRF
wins over CV-weighted RRF, and a shallow rerank over a deep one, unless the data say otherwise.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rerank_fix.evaluate.metrics import per_query
from rerank_fix.evaluate.stats import paired_test
from rerank_fix.fix.candidates import BLEND, TUNED_FUSION, Candidate
from rerank_fix.fix.guarantees import QUALITY_TOLERANCE
from rerank_fix.pipeline.routing import ALL, RoutedOutcome, RoutingPolicy, fit_policy
from rerank_fix.core.run import Run

logger = logging.getLogger("rerank_fix.fix")


@dataclass
class Shrink:
    """One stratum moved to a cheaper candidate because the evidence did not favour the dearer one.

    Example:
        >>> Shrink(0, "clean", "weighted-rrf", "rrf", 0.004, 0.41).sentence()
        'clean: rrf instead of weighted-rrf (Δ +0.004, p=0.41 on the training queries)'
    """

    fold: int | None
    stratum: str
    dearer: str
    cheaper: str
    delta: float
    p_value: float

    def sentence(self) -> str:
        return (f"{self.stratum}: {self.cheaper} instead of {self.dearer} "
                f"(Δ {self.delta:+.3f}, p={self.p_value:.2g} on the training queries)")


@dataclass
class NestedRouting:
    """The honest evaluation of the whole selection procedure, and the policy to deploy.

    Args:
        outcome: Held-out choices per query, the policy of each outer fold, and the deploy policy.
        run: The cross-validated routed run (each query ranked as its fold's policy and tuning decided).
        per_query: Held-out metric per query.
        shrinks: Where simplicity won, per fold (``fold=None``: the deploy policy).
        fold_params: Per outer fold and tuned candidate, the values tuned without that fold.
    """

    outcome: RoutedOutcome
    run: Run
    per_query: dict[str, float]
    shrinks: list[Shrink] = field(default_factory=list)
    fold_params: list[dict[str, Any]] = field(default_factory=list)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def fold_runs(candidates: Sequence[Candidate], runs: Mapping[str, Run], specs: Mapping[str, Any],
              qrels: Mapping[str, Mapping[str, int]], folds: Sequence[Sequence[str]], held: int, metric: str
              ) -> tuple[dict[str, Run], dict[str, Any]]:
    """Every candidate's run for outer fold ``held``: untuned candidates as they are; tuned ones re-tuned on
    the other folds (inner CV for the training queries, the inner deploy values for the held-out fold).

    Args:
        candidates: The candidates.
        runs: ``candidate -> its run`` from the recipe run (tuned ones: plain CV, used only when not nested).
        specs: ``candidate -> its PipelineSpec`` (the tuned stage's grid and depth).
        qrels: Judgements; only the training folds' are read.
        folds: The outer folds.
        held: Index of the held-out fold.
        metric: What tuning maximises.
    """
    from rerank_fix.fuse.interpolate import interpolate_scores
    from rerank_fix.fuse.rrf import reciprocal_rank_fusion
    from rerank_fix.pipeline.recipe import RerankStage, RRFStage
    from rerank_fix.pipeline.tuning import cv_tune_interpolation, cv_tune_rrf, fusion_grid

    inner = [list(f) for i, f in enumerate(folds) if i != held]
    held_ids = list(folds[held])
    train_qrels = {q: qrels[q] for f in inner for q in f if q in qrels}
    out: dict[str, Run] = {}
    params: dict[str, Any] = {}
    for c in candidates:
        if not c.tuned:
            out[c.name] = runs[c.name]
            continue
        spec = specs[c.name]
        if c.kind == TUNED_FUSION:
            stage = next(s for s in spec.stages if isinstance(s, RRFStage))
            parts = [runs[name] for name in c.components]
            grid = fusion_grid(len(parts), stage.weights, stage.k, stage.tune.weight_grid, stage.tune.k_grid)
            tuned = cv_tune_rrf(parts, train_qrels, inner, grid, metric, stage.depth, stage.top_k, name=c.name,
                                names=c.components)
            deployed = reciprocal_rank_fusion(parts, k=tuned.deploy.k, weights=tuned.deploy.weights,
                                              depth=stage.depth).top(stage.top_k)
        elif c.kind == BLEND:
            stage = next(s for s in spec.stages if isinstance(s, RerankStage))
            base, reranked = runs[c.base], runs[c.alone]
            tuned = cv_tune_interpolation(base, reranked, train_qrels, inner, stage.tune.grid, metric, stage.depth,
                                          name=c.name)
            deployed = interpolate_scores(base, reranked, tuned.deploy.weight, stage.depth)
        else:  # pragma: no cover - every tuned kind is handled above
            raise AssertionError(c.kind)
        results = dict(tuned.run.results)
        for q in held_ids:
            results[q] = list(deployed.results.get(q, []))
        out[c.name] = Run(c.name, results)
        params[c.name] = tuned.deploy.as_dict(c.components or None)
    return out, params


def shrink_policy(policy: RoutingPolicy, scores: Mapping[str, Mapping[str, float]], train_ids: Sequence[str],
                  labels: Mapping[str, str], order: Sequence[str], alpha: float, fold: int | None = None,
                  seed: int = 0, tolerance: float = QUALITY_TOLERANCE) -> tuple[RoutingPolicy, list[Shrink]]:
    """Move each stratum to the cheapest eligible candidate that its choice is not significantly better than
    (and better by no more than ``tolerance`` on average).

    Eligible: the fallback, or a candidate whose gain over the fallback in that stratum was significant
    (Holm) when the policy was fitted. ``order`` is the cost order (cheapest first).
    """
    rank = {name: i for i, name in enumerate(order)}
    fallback = policy.fallback
    shrinks: list[Shrink] = []
    choices = dict(policy.choices)
    for ev in policy.evidence:
        chosen = ev.choice
        if chosen == fallback:
            continue
        members = [q for q in train_ids if (ALL if policy.dimension == ALL else labels.get(q)) == ev.stratum]
        eligible = [fallback] + [o for o in policy.options if o != fallback and ev.p_holm.get(o, 1.0) < policy.alpha
                                 and ev.deltas.get(o, 0.0) > 0]
        for cheaper in sorted(eligible, key=lambda o: rank.get(o, len(rank))):
            if rank.get(cheaper, len(rank)) >= rank.get(chosen, len(rank)):
                break
            a = [scores[chosen][q] for q in members]
            b = [scores[cheaper][q] for q in members]
            delta = _mean([x - y for x, y in zip(a, b)])
            p = paired_test(a, b, n_resamples=4000, seed=seed)
            if not (p < alpha and delta > 0) and delta <= tolerance:
                shrinks.append(Shrink(fold, ev.stratum, chosen, cheaper, delta, p))
                ev.choice = cheaper
                choices[ev.stratum] = cheaper
                break
    train = [q for q in train_ids if all(q in scores[o] for o in policy.options)]
    gain = _mean([scores[choices.get(ALL if policy.dimension == ALL else labels.get(q, ""), fallback)][q]
                  - scores[fallback][q] for q in train])
    shrunk = RoutingPolicy(policy.dimension, policy.stratifier, choices, fallback, list(policy.options), policy.metric,
                           policy.alpha, policy.evidence, policy.n_train, gain)
    return shrunk, shrinks


def _fit(scores: Mapping[str, Mapping[str, float]], labels_by_dimension: Mapping[str, Mapping[str, str]],
         configs: Mapping[str, dict[str, Any]], train_ids: Sequence[str], options: Sequence[str], metric: str,
         alpha: float, min_stratum_size: int, seed: int, fold: int | None) -> tuple[RoutingPolicy, list[Shrink]]:
    policy = fit_policy(scores, labels_by_dimension, configs, train_ids, options, metric, alpha, min_stratum_size,
                        seed=seed)
    labels = labels_by_dimension.get(policy.dimension, {})
    return shrink_policy(policy, scores, train_ids, labels, options, alpha, fold, seed)


def nested_routing(candidates: Sequence[Candidate], runs: Mapping[str, Run], specs: Mapping[str, Any],
                   qrels: Mapping[str, Mapping[str, int]], folds: Sequence[Sequence[str]],
                   labels_by_dimension: Mapping[str, Mapping[str, str]], configs: Mapping[str, dict[str, Any]],
                   metric: str = "ndcg@10", alpha: float = 0.05, min_stratum_size: int = 20,
                   seed: int = 0, show_progress: bool = False) -> NestedRouting:
    """Nested cross-validation of routing over ``candidates`` (cost order, baseline first).

    Args:
        candidates: Every candidate, cheapest first; the first is the fallback (baseline).
        runs: ``candidate -> run over every query`` (tuned candidates: their ordinary CV run).
        specs: ``candidate -> PipelineSpec``.
        qrels: Judgements of every query in ``folds``.
        folds: Outer folds (versions of one query share a fold).
        labels_by_dimension: ``dimension -> query -> stratum`` for the dimensions allowed to route
            (never ``query_set``: it is not known at query time).
        configs: ``dimension -> stratifier config`` saved in the policy.
        metric: What the choice maximises.
        alpha: Significance level (Holm) for leaving the baseline, and for keeping a dearer candidate.
        min_stratum_size: Training strata smaller than this keep the baseline.

    Returns:
        The held-out routed run and scores, each fold's policy, and the deploy policy (fitted on all
        queries, tuned candidates scored by their ordinary CV run).
    """
    options = [c.name for c in candidates]
    all_ids = [q for f in folds for q in f]
    choices: dict[str, str] = {}
    fold_policies: list[RoutingPolicy] = []
    held_results: dict[str, list[tuple[str, float]]] = {}
    held_scores: dict[str, float] = {}
    shrinks: list[Shrink] = []
    fold_params: list[dict[str, Any]] = []
    untuned_scores = {c.name: per_query(runs[c.name], qrels, [metric])[metric] for c in candidates if not c.tuned}
    for i, fold in enumerate(folds):
        logger.info("nested CV: outer fold %d of %d", i + 1, len(folds))
        runs_i, params_i = fold_runs(candidates, runs, specs, qrels, folds, i, metric)
        fold_params.append(params_i)
        scores_i = dict(untuned_scores)
        for c in candidates:
            if c.tuned:
                scores_i[c.name] = per_query(runs_i[c.name], qrels, [metric])[metric]
        held = set(fold)
        train = [q for q in all_ids if q not in held]
        policy, moved = _fit(scores_i, labels_by_dimension, configs, train, options, metric, alpha,
                             min_stratum_size, seed, i)
        fold_policies.append(policy)
        shrinks += moved
        labels = labels_by_dimension.get(policy.dimension, {})
        for q in fold:
            choice = policy.choice_for(ALL if policy.dimension == ALL else labels.get(q, ALL))
            choices[q] = choice
            held_results[q] = list(runs_i[choice].results.get(q, []))
            held_scores[q] = scores_i[choice][q]
    deploy_scores = {c.name: per_query(runs[c.name], qrels, [metric])[metric] for c in candidates}
    deploy, moved = _fit(deploy_scores, labels_by_dimension, configs, all_ids, options, metric, alpha,
                         min_stratum_size, seed, None)
    shrinks += moved
    outcome = RoutedOutcome(choices, fold_policies, deploy)
    return NestedRouting(outcome, Run("routed (nested CV)", held_results), held_scores, shrinks, fold_params)
