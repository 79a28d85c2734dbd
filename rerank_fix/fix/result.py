"""What ``fix`` decided and measured: the bundle, its report and its verdict are written from it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerank_fix.core.run import Run
from rerank_fix.evaluate.evaluator import ALL, Headroom, StratumComparison
from rerank_fix.evaluate.stats import Estimate
from rerank_fix.fix.candidates import Candidate, Skipped
from rerank_fix.fix.depth import DepthPairs
from rerank_fix.fix.guarantees import Guarantee
from rerank_fix.fix.selection import NestedRouting
from rerank_fix.pipeline.routing import RoutingPolicy

#: The metric every choice and guarantee is made on.
METRIC = "ndcg@10"


@dataclass
class FixResult:
    """Everything ``fix`` decided and measured; the bundle and its report are written from it.

    Args:
        comparison: The recipe run of every candidate (per-stratum evaluation, latency, tuning).
        candidates: The candidates, cheapest first (the first is the baseline).
        skipped: Candidate families not generated, with the reason.
        headroom: ``stage one -> per-stratum headroom``.
        nested: The nested-CV routing (held-out run, fold policies, deploy policy).
        routed_comparisons: The nested-CV routed run vs the baseline, per stratum.
        guarantees: Safety and quality, checked.
        recommended: The policy to deploy (the routed one, or always the baseline when a guarantee fails).
        deployed_run: The recommended policy applied to the evaluated queries (what the bundle reproduces).
        deployed_per_query: Its per-query metrics.
        concrete: ``candidate -> stages with every tuned value fixed`` (what the bundle stores).
        depth_pairs: Cross-encoder pairs of the policy vs reranking every query at a fixed depth (None without
            a cross-encoder candidate).
    """

    data: dict[str, Any]
    comparison: Any
    candidates: list[Candidate]
    skipped: list[Skipped]
    headroom: dict[str, list[Headroom]]
    nested: NestedRouting
    routed_evaluation: Any
    routed_comparisons: list[StratumComparison]
    guarantees: list[Guarantee]
    recommended: RoutingPolicy
    best_single: str
    deployed_run: Run
    deployed_per_query: dict[str, dict[str, float]]
    concrete: dict[str, list[dict[str, Any]]]
    models: dict[str, dict[str, Any]]
    stratifier: Any
    share_cross_encoder: float
    p95_ms: float
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    bundle: Path | None = None
    depth_pairs: DepthPairs | None = None

    @property
    def baseline(self) -> str:
        return self.candidates[0].name

    @property
    def safe(self) -> bool:
        return all(g.holds for g in self.guarantees)

    def candidate(self, name: str) -> Candidate:
        return next(c for c in self.candidates if c.name == name)

    @property
    def expected(self) -> Estimate:
        """The recommendation's CV gain over the baseline, all queries (zero when the baseline is recommended)."""
        if not self.recommended.switched:
            return Estimate(0.0, 0.0, 0.0, len(self.nested.per_query))
        return next(c.delta for c in self.routed_comparisons if c.dimension == ALL and c.metric == METRIC)

    def cv_mean(self, name: str) -> float:
        return self.comparison.result(name).evaluation.overall.metrics[METRIC].mean
