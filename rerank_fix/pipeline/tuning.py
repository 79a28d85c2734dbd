"""Cross-validated choices: folds over queries, and RRF weights / k tuned without touching the scored qrels.

Every query is scored with values chosen on the *other* folds. Tuning on the same judgements the
report is scored on would flatter the tuned system by exactly the amount of overfitting one wants to measure.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from rerank_fix.errors import ConfigError
from rerank_fix.evaluate.metrics import per_query
from rerank_fix.fuse.rrf import reciprocal_rank_fusion
from rerank_fix.core.run import Run


def make_folds(query_ids: Sequence[str], n_folds: int, seed: int = 0,
               groups: Mapping[str, str] | None = None) -> list[list[str]]:
    """Split queries into ``n_folds`` seeded, near-equal folds.

    Args:
        query_ids: The queries.
        n_folds: Number of folds (at most the number of groups).
        seed: Makes the split reproducible.
        groups: ``query_id -> group``; queries of one group stay in one fold (e.g. the clean and the
            typo version of the same query), so no fold is tuned on a twin of a query it is scored on.

    Example:
        >>> folds = make_folds([f"q{i}" for i in range(10)], 3, seed=1)
        >>> sorted(len(f) for f in folds), sorted(q for f in folds for q in f) == sorted(f"q{i}" for i in range(10))
        ([3, 3, 4], True)
    """
    group_of = {q: (groups or {}).get(q, q) for q in query_ids}
    unique = list(dict.fromkeys(group_of.values()))
    if n_folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {n_folds}")
    if len(unique) < n_folds:
        raise ConfigError(f"cross-validation with {n_folds} folds needs at least {n_folds} queries "
                          f"(got {len(unique)}); lower folds")
    rng = random.Random(seed)
    order = sorted(unique)
    rng.shuffle(order)
    fold_of = {g: i % n_folds for i, g in enumerate(order)}
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for q in query_ids:
        folds[fold_of[group_of[q]]].append(q)
    return folds


@dataclass(frozen=True)
class FusionParams:
    """One point of the RRF grid: a weight per run and the constant k.

    Example:
        >>> FusionParams((1.0, 0.2), 60.0).as_dict(["dense", "bm25"])
        {'weights': {'dense': 1.0, 'bm25': 0.2}, 'k': 60.0}
    """

    weights: tuple[float, ...]
    k: float

    def as_dict(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        weights: Any = list(self.weights)
        if names is not None:
            weights = dict(zip(names, self.weights))
        return {"weights": weights, "k": self.k}


@dataclass
class FoldChoice:
    """What one fold was scored with, and how those values did on the training folds.

    Example:
        >>> FoldChoice(0, 80, 20, FusionParams((1.0, 0.0), 60.0), 0.61).as_dict()["n_test"]
        20
    """

    fold: int
    n_train: int
    n_test: int
    params: FusionParams | InterpolationParams
    train_score: float

    def as_dict(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        return {"fold": self.fold, "n_train": self.n_train, "n_test": self.n_test,
                **self.params.as_dict(names), "train_score": self.train_score}


@dataclass
class TunedFusion:
    """A cross-validated fusion (RRF, or reranker interpolation): the assembled run, each fold fused with its
    own tuned values, plus the record.

    Args:
        run: The run to score (every query fused with values tuned without it).
        folds: Per-fold choices.
        deploy: Values tuned on all queries: what to use on new queries (not what the report scores).
        metric: The tuned metric.
        grid_size: Points tried.

    Example:
        >>> tuned = cv_tune_rrf(runs, qrels, folds, fusion_grid(2, "tune", 60, [0, 1], [60]))  # doctest: +SKIP
        >>> tuned.deploy.weights                                                              # doctest: +SKIP
    """

    run: Run
    folds: list[FoldChoice]
    deploy: FusionParams | InterpolationParams
    metric: str
    grid_size: int
    names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "grid_size": self.grid_size,
                "folds": [f.as_dict(self.names) for f in self.folds],
                "deploy": self.deploy.as_dict(self.names)}


def fusion_grid(n_runs: int, weights: Sequence[float] | str | None, k: float | str,
                weight_grid: Sequence[float], k_grid: Sequence[float]) -> list[FusionParams]:
    """Every (weights, k) combination to try. Tuned weights fix the first run's weight at 1 (RRF is
    scale-invariant, so only the ratios matter)."""
    if weights == "tune":
        weight_options = [(1.0, *(float(w) for w in rest))
                          for rest in itertools.product(weight_grid, repeat=n_runs - 1)]
    else:
        weight_options = [tuple(float(w) for w in (weights or [1.0] * n_runs))]
    k_options = [float(x) for x in k_grid] if k == "tune" else [float(k)]  # type: ignore[arg-type]
    return [FusionParams(w, kk) for w in weight_options for kk in k_options]


def _preference(params: FusionParams) -> float:
    # Among equally good points prefer plain RRF: equal weights and k=60 (the fewest assumptions).
    return sum(abs(w - 1.0) for w in params.weights) + abs(math.log((params.k + 1) / 61.0))


def cv_tune_rrf(runs: Sequence[Run], qrels: Mapping[str, Mapping[str, int]], folds: Sequence[Sequence[str]],
                grid: Sequence[FusionParams], metric: str = "ndcg@10", depth: int | None = None,
                top_k: int | None = None, name: str = "rrf", names: Sequence[str] | None = None) -> TunedFusion:
    """Choose RRF values per fold on the other folds and fuse each fold's queries with its own choice.

    Args:
        runs: Stage-one runs to fuse.
        qrels: Judgements of every query in ``folds``.
        folds: Disjoint query-id lists covering the queries to score.
        grid: Candidate values (see :func:`fusion_grid`).
        metric: Maximised on the training folds.
        depth / top_k: As in the rrf stage.
        name: Name of the assembled run.

    Example:
        >>> a = Run.from_scores("a", {"q1": {"x": 2, "y": 1}, "q2": {"x": 2, "y": 1}})
        >>> b = Run.from_scores("b", {"q1": {"y": 2, "x": 1}, "q2": {"y": 2, "x": 1}})
        >>> qrels = {"q1": {"x": 1}, "q2": {"x": 1}}
        >>> tuned = cv_tune_rrf([a, b], qrels, [["q1"], ["q2"]], fusion_grid(2, "tune", 60, [0, 1], [60]))
        >>> tuned.run.ranked_ids("q1")[0], tuned.folds[0].params.weights
        ('x', (1.0, 0.0))
    """
    if not grid:
        raise ConfigError("RRF tuning got an empty grid")
    results, choices, deploy = cross_validate(
        grid, lambda params: reciprocal_rank_fusion(runs, k=params.k, weights=params.weights, depth=depth),
        qrels, folds, metric, _preference, top_k=top_k)
    return TunedFusion(Run(name, results), choices, deploy, metric, len(grid), list(names or [r.name for r in runs]))


@dataclass(frozen=True)
class InterpolationParams:
    """One point of the interpolation grid: the share of the stage-one score.

    Example:
        >>> InterpolationParams(0.3).as_dict()
        {'first_stage_weight': 0.3}
    """

    weight: float

    def as_dict(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        return {"first_stage_weight": self.weight}


def cv_tune_interpolation(first_stage: Run, reranked: Run, qrels: Mapping[str, Mapping[str, int]],
                          folds: Sequence[Sequence[str]], grid: Sequence[float], metric: str = "ndcg@10",
                          depth: int = 50, name: str = "rerank") -> TunedFusion:
    """Choose the stage-one weight of :func:`~rerank_fix.fuse.interpolate.interpolate_scores` per fold on
    the other folds, and blend each fold's queries with its own choice.

    Args:
        first_stage: The run the reranker reordered.
        reranked: The reranker's run.
        qrels: Judgements of every query in ``folds``.
        folds: Disjoint query-id lists covering the queries to score.
        grid: Candidate stage-one weights in [0, 1].
        metric: Maximised on the training folds.
        depth: Reranking depth.
        name: Name of the assembled run.

    Example:
        >>> first = Run.from_scores("d", {"q1": {"x": 2, "y": 1}, "q2": {"x": 2, "y": 1}})
        >>> ce = Run.from_scores("ce", {"q1": {"y": 2, "x": 1}, "q2": {"y": 2, "x": 1}})
        >>> tuned = cv_tune_interpolation(first, ce, {"q1": {"x": 1}, "q2": {"x": 1}}, [["q1"], ["q2"]], [0.0, 1.0])
        >>> tuned.deploy.weight, tuned.run.ranked_ids("q1")[0]
        (1.0, 'x')
    """
    from rerank_fix.fuse.interpolate import interpolate_scores

    if not grid:
        raise ConfigError("interpolation tuning got an empty grid")
    points = [InterpolationParams(float(w)) for w in grid]
    results, choices, deploy = cross_validate(
        points, lambda params: interpolate_scores(first_stage, reranked, params.weight, depth),
        qrels, folds, metric, lambda params: params.weight)
    return TunedFusion(Run(name, results), choices, deploy, metric, len(points), ["first_stage"])


def cross_validate(grid: Sequence[Any], build: Callable[[Any], Run], qrels: Mapping[str, Mapping[str, int]],
                   folds: Sequence[Sequence[str]], metric: str, preference: Callable[[Any], float],
                   top_k: int | None = None) -> tuple[dict[str, list[tuple[str, float]]], list[FoldChoice], Any]:
    """Score every grid point once, then give each fold the point that did best on the other folds.

    ``build(point)`` must rank every query independently of the others (true of RRF and interpolation),
    so one run per point serves every fold. Ties go to the point with the lowest ``preference``.
    Returns the assembled per-query rankings, the per-fold choices and the point best on all queries
    (what to deploy on new queries).
    """
    all_q = [q for fold in folds for q in fold]
    judged = {q: qrels[q] for q in all_q if q in qrels}
    # Only the per-query scores of each point are kept (a 54-point RRF grid of full runs would hold
    # millions of tuples); the few points folds actually choose are rebuilt below, once each.
    scores = [per_query(build(point), judged, [metric])[metric] for point in grid]
    chosen_runs: dict[int, Run] = {}

    def best(train: Sequence[str]) -> tuple[int, float]:
        scored = []
        for i, (point, per_q) in enumerate(zip(grid, scores)):
            mean = sum(per_q[q] for q in train if q in per_q) / max(1, len(train))
            scored.append((round(mean, 12), -preference(point), i))
        top = max(scored, key=lambda t: (t[0], t[1]))
        return top[2], top[0]

    results: dict[str, list[tuple[str, float]]] = {}
    choices: list[FoldChoice] = []
    for fold_index, fold in enumerate(folds):
        held = set(fold)
        train = [q for q in all_q if q not in held]
        chosen, train_score = best(train)
        choices.append(FoldChoice(fold_index, len(train), len(fold), grid[chosen], train_score))
        if chosen not in chosen_runs:
            chosen_runs[chosen] = build(grid[chosen])
        for q in fold:
            items = chosen_runs[chosen].results.get(q, [])
            results[q] = items[:top_k] if top_k else items
    deploy, _ = best(all_q)
    return results, choices, grid[deploy]
