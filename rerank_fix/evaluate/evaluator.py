"""The shared evaluator: per-query metrics, stratified, with confidence intervals, paired tests and
the headroom rule. Every fix in rerank_fix is proven with it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from rerank_fix.core.types import EvalSet
from rerank_fix.evaluate.metrics import DEFAULT_METRICS, mean_scores, parse_metric, per_query
from rerank_fix.evaluate.stats import Estimate, bootstrap_ci, holm, paired_test
from rerank_fix.evaluate.strata import Stratifier, default_stratifiers
from rerank_fix.core.run import Run

ALL = "all"

HELPS, HURTS, NO_EFFECT, TOO_SMALL = "helps", "hurts", "no detectable effect", "too small to judge"


@dataclass
class StratumMetrics:
    dimension: str
    stratum: str
    n: int
    metrics: dict[str, Estimate]

    def as_dict(self) -> dict:
        return {"dimension": self.dimension, "stratum": self.stratum, "n": self.n,
                "metrics": {m: e.as_dict() for m, e in self.metrics.items()}}


@dataclass
class RunEvaluation:
    """One run scored on every query and summarised per stratum (``dimension == "all"`` is overall)."""

    run_name: str
    per_query: dict[str, dict[str, float]]
    strata: list[StratumMetrics]

    def stratum(self, dimension: str, stratum: str) -> StratumMetrics:
        for s in self.strata:
            if s.dimension == dimension and s.stratum == stratum:
                return s
        raise KeyError((dimension, stratum))

    @property
    def overall(self) -> StratumMetrics:
        return self.stratum(ALL, ALL)

    def as_dict(self) -> dict:
        return {"run": self.run_name, "strata": [s.as_dict() for s in self.strata]}


@dataclass
class StratumComparison:
    """Treatment vs baseline on one metric in one stratum."""

    dimension: str
    stratum: str
    metric: str
    n: int
    baseline: Estimate
    treatment: Estimate
    delta: Estimate
    p_value: float
    p_holm: float = float("nan")
    verdict: str = NO_EFFECT

    def as_dict(self) -> dict:
        return {"dimension": self.dimension, "stratum": self.stratum, "metric": self.metric, "n": self.n,
                "baseline": self.baseline.as_dict(), "treatment": self.treatment.as_dict(),
                "delta": self.delta.as_dict(), "p_value": self.p_value, "p_holm": self.p_holm,
                "verdict": self.verdict}


@dataclass
class Headroom:
    """The headroom rule: reranking can only reorder what stage one found."""

    dimension: str
    stratum: str
    n: int
    shallow: float
    deep: float
    threshold: float

    @property
    def headroom(self) -> float:
        return self.deep - self.shallow

    @property
    def has_room(self) -> bool:
        return self.headroom >= self.threshold

    def as_dict(self) -> dict:
        return {"dimension": self.dimension, "stratum": self.stratum, "n": self.n, "shallow": self.shallow,
                "deep": self.deep, "headroom": self.headroom, "threshold": self.threshold,
                "has_room": self.has_room}


@dataclass
class StratifiedEvaluator:
    """Score runs per query and per stratum, and compare two runs stratum by stratum.

    Args:
        eval_set: Queries, corpus and judgements.
        stratifiers: How to split queries; default: length, typo vs clean, categorical metadata fields.
        metrics: Metric names such as ``recall@5`` or ``ndcg@10``.
        confidence: Level of the bootstrap confidence intervals.
        min_stratum_size: Strata smaller than this are reported but flagged "too small to judge".
        alpha: Significance level applied to Holm-adjusted p-values.
        n_resamples: Bootstrap / randomization resamples.
        seed: Makes CIs and p-values reproducible.

    Example:
        >>> from rerank_fix.data import load_eval_set
        >>> from rerank_fix.retrieve.bm25 import BM25Retriever
        >>> ds = load_eval_set("demo")
        >>> bm25 = BM25Retriever(); bm25.index(ds.corpus)
        >>> evaluator = StratifiedEvaluator(ds)
        >>> result = evaluator.evaluate(bm25.search(ds.query_texts, k=100))
        >>> 0 <= result.overall.metrics["ndcg@10"].mean <= 1
        True

    References:
        Smucker, Allan & Carterette (2007), A comparison of statistical significance tests for IR evaluation.
        Holm (1979), A simple sequentially rejective multiple test procedure.
    """

    eval_set: EvalSet
    stratifiers: Sequence[Stratifier] | None = None
    metrics: Sequence[str] = DEFAULT_METRICS
    confidence: float = 0.95
    min_stratum_size: int = 20
    alpha: float = 0.05
    n_resamples: int = 2000
    seed: int = 0
    assignments: dict[str, dict[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        for m in self.metrics:
            parse_metric(m)
        if self.stratifiers is None:
            self.stratifiers = default_stratifiers(self.eval_set)
        self.assignments = {s.dimension: s.assign(self.eval_set.queries) for s in self.stratifiers}
        self._orders = {s.dimension: s.label_order() for s in self.stratifiers}

    @property
    def query_ids(self) -> list[str]:
        return list(self.eval_set.qrels)

    def groups(self) -> list[tuple[str, str, list[str]]]:
        """``(dimension, stratum, query_ids)`` for overall and every stratum, in reading order."""
        out = [(ALL, ALL, self.query_ids)]
        for dimension, labels in self.assignments.items():
            order = self._orders.get(dimension, [])
            rank = {label: i for i, label in enumerate(order)}
            for stratum in sorted(set(labels.values()), key=lambda l: (rank.get(l, len(order)), l)):
                out.append((dimension, stratum, [q for q in self.query_ids if labels.get(q) == stratum]))
        return out

    def score(self, run: Run, metrics: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        return per_query(run, self.eval_set.qrels, list(metrics or self.metrics))

    def evaluate(self, run: Run) -> RunEvaluation:
        scores = self.score(run)
        strata = [
            StratumMetrics(dim, stratum, len(qids), {
                m: bootstrap_ci([scores[m][q] for q in qids], self.confidence, self.n_resamples, self.seed)
                for m in self.metrics})
            for dim, stratum, qids in self.groups()
        ]
        return RunEvaluation(run.name, scores, strata)

    def _as_evaluation(self, run_or_eval: Run | RunEvaluation) -> RunEvaluation:
        return run_or_eval if isinstance(run_or_eval, RunEvaluation) else self.evaluate(run_or_eval)

    def compare(self, treatment: Run | RunEvaluation, baseline: Run | RunEvaluation,
                metrics: Sequence[str] = ("ndcg@10", "recall@5")) -> list[StratumComparison]:
        """Paired comparison per stratum; p-values are Holm-adjusted across all strata of a metric."""
        treated, base = self._as_evaluation(treatment), self._as_evaluation(baseline)
        comparisons: list[StratumComparison] = []
        for metric in metrics:
            rows = []
            for dim, stratum, qids in self.groups():
                a = [treated.per_query[metric][q] for q in qids]
                b = [base.per_query[metric][q] for q in qids]
                diffs = [x - y for x, y in zip(a, b)]
                rows.append(StratumComparison(
                    dim, stratum, metric, len(qids),
                    baseline=base.stratum(dim, stratum).metrics[metric],
                    treatment=treated.stratum(dim, stratum).metrics[metric],
                    delta=bootstrap_ci(diffs, self.confidence, self.n_resamples, self.seed),
                    p_value=paired_test(a, b, n_resamples=max(self.n_resamples, 5000), seed=self.seed)))
            # Small strata are excluded from the correction: they get no verdict, so they spend no alpha.
            judged = [r for r in rows if r.n >= self.min_stratum_size]
            for row, adjusted in zip(judged, holm([r.p_value for r in judged])):
                row.p_holm = adjusted
            for row in rows:
                row.verdict = self._verdict(row)
            comparisons.extend(rows)
        return comparisons

    def _verdict(self, row: StratumComparison) -> str:
        if row.n < self.min_stratum_size:
            return TOO_SMALL
        if row.p_holm < self.alpha:
            return HELPS if row.delta.mean > 0 else HURTS
        return NO_EFFECT

    def headroom(self, evaluation: RunEvaluation, threshold: float = 0.25, shallow: str = "recall@5",
                 deep: str = "recall@50") -> list[Headroom]:
        """Headroom = mean ``deep`` − mean ``shallow`` recall per stratum; reranking can help only where
        it is at least ``threshold``."""
        scores = evaluation.per_query
        for m in (shallow, deep):
            if m not in scores:
                scores = {**scores, **self.score_missing(evaluation, m)}
        out = []
        for dim, stratum, qids in self.groups():
            means = mean_scores({m: {q: scores[m][q] for q in qids} for m in (shallow, deep)})
            out.append(Headroom(dim, stratum, len(qids), means[shallow], means[deep], threshold))
        return out

    def score_missing(self, evaluation: RunEvaluation, metric: str) -> dict[str, dict[str, float]]:
        raise KeyError(f"{metric} was not computed for {evaluation.run_name}; add it to the evaluator's metrics")
