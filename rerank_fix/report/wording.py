"""Report wording: verdict sentences, stratum descriptions, p-values and the notes on fusion and routing.

Every sentence a report prints about a comparison is written here, so the Markdown, HTML, JSON and terminal
outputs say the same thing the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from rerank_fix.evaluate.evaluator import ALL, StratumComparison
from rerank_fix.evaluate.stats import paired_test
from rerank_fix.report.tables import fmt_p

if TYPE_CHECKING:
    from rerank_fix.pipeline.runner import ComparisonResult

#: The stratum dimension of query sets (``data.query_sets``); mirrors ``rerank_fix.pipeline.runner.QUERY_SET``.
QUERY_SET = "query_set"


@dataclass
class Verdict:
    """A plain-language finding: one pipeline, one stratum, one metric, significant after Holm.

    Example:
        >>> from rerank_fix.evaluate.stats import Estimate
        >>> c = StratumComparison("typo", "typo-heavy", "recall@5", 40, Estimate(.6, .5, .7, 40),
        ...                       Estimate(.51, .4, .6, 40), Estimate(-.09, -.15, -.03, 40), .004, .01, "hurts")
        >>> Verdict("dense+rerank", "dense", c).sentence
        'dense+rerank hurts typo-heavy queries (vs dense): R@5 −0.090 [−0.150, −0.030], p=0.010 (Holm), n=40'
    """

    pipeline: str
    baseline: str
    comparison: StratumComparison

    @property
    def sentence(self) -> str:
        c = self.comparison
        delta = f"{short_metric(c.metric)} {c.delta.mean:+.3f}".replace("-", "−")
        ci = "" if math.isnan(c.delta.low) else f" [{c.delta.low:+.3f}, {c.delta.high:+.3f}]".replace("-", "−")
        return (f"{self.pipeline} {c.verdict} {describe_stratum(c.dimension, c.stratum)} "
                f"(vs {self.baseline}): {delta}{ci}, p={fmt_p(c.p_holm)} (Holm), n={c.n}")


def short_metric(metric: str) -> str:
    kind, _, k = metric.partition("@")
    return {"recall": "R", "ndcg": "nDCG", "mrr": "MRR", "precision": "P"}.get(kind, kind) + f"@{k}"


def describe_stratum(dimension: str, stratum: str) -> str:
    """Words for a stratum: ``short queries (len ≤4)``, ``typo-heavy queries``, ``all queries``."""
    if dimension == ALL:
        return "all queries"
    if dimension == "length":
        return f"queries of {stratum.removeprefix('len ')} tokens"
    if dimension == "typo":
        return f"{stratum} queries"
    if dimension == QUERY_SET:
        return f"the {stratum} query set"
    return f"queries with {dimension} = {stratum}"


def _single_retriever_pipelines(result: "ComparisonResult") -> dict[str, str]:
    """``retriever config json -> name`` of pipelines that are just that retriever."""
    from rerank_fix.pipeline.recipe import stage_key

    out = {}
    for r in result.results:
        spec = r.spec
        if not spec.routed and len(spec.stages) == 1 and spec.stages[0].stage in ("dense", "bm25"):
            out.setdefault(stage_key(spec.stages[0]), r.name)
    return out


def fusion_notes(result: "ComparisonResult") -> list[str]:
    """Say plainly when a fusion is worse than its best component alone (e.g. RRF with a weak BM25 on code)."""
    from rerank_fix.pipeline.recipe import stage_key

    singles = _single_retriever_pipelines(result)
    metric = result.recipe.compare_metrics[0]
    notes = []
    for r in result.results:
        spec = r.spec
        if spec.routed or len(spec.stages) != 1 or spec.stages[0].stage != "rrf":
            continue
        stage = spec.stages[0]
        components = [singles.get(stage_key(c)) for c in stage.retrievers]
        if not all(components):
            continue
        fused = r.evaluation.per_query[metric]
        comps = {c: result.result(c).evaluation.per_query[metric] for c in components}  # type: ignore[index]
        best = max(comps, key=lambda c: sum(comps[c].values()))
        qids = list(fused)

        def mean(values: Mapping[str, float], qids: list[str] = qids) -> float:
            return sum(values[q] for q in qids) / len(qids)

        delta = mean(fused) - mean(comps[best])
        p = paired_test([fused[q] for q in qids], [comps[best][q] for q in qids])
        parts = ", ".join(f"{c} {mean(v):.3f}" for c, v in comps.items())
        how = "weighted RRF" if stage.weights is not None else "plain RRF"
        if stage.tuned:
            how += ", weights and k tuned by cross-validation"
        if p < result.recipe.alpha and delta < 0:
            notes.append(f"{r.name} ({how}) scores {short_metric(metric)} {mean(fused):.3f}, significantly WORSE than "
                         f"its best component alone ({best} {mean(comps[best]):.3f}; Δ {delta:+.3f}, p={fmt_p(p)}). "
                         f"Components: {parts}. Fusing with equal say lets the weaker retriever drag the ranking down.")
        elif p < result.recipe.alpha:
            notes.append(f"{r.name} ({how}) scores {short_metric(metric)} {mean(fused):.3f}, significantly better than "
                         f"its best component ({best} {mean(comps[best]):.3f}; Δ {delta:+.3f}, p={fmt_p(p)}).")
        else:
            notes.append(f"{r.name} ({how}) scores {short_metric(metric)} {mean(fused):.3f} vs its best component "
                         f"{best} {mean(comps[best]):.3f} (Δ {delta:+.3f}, p={fmt_p(p)}: no detectable difference).")
    return notes


def routing_notes(result: "ComparisonResult") -> list[str]:
    notes = []
    for r in result.results:
        if r.routing is None:
            continue
        worse = result.significantly_worse(r.name)
        policy = r.routing.deploy
        if worse:
            where = "; ".join(f"{describe_stratum(c.dimension, c.stratum)} {short_metric(c.metric)} "
                              f"{c.delta.mean:+.3f} (p={fmt_p(c.p_holm)})" for c in worse)
            notes.append(f"{r.name}: significantly worse than {result.baseline.name} in {len(worse)} stratum/metric "
                         f"pair(s): {where}.")
        else:
            notes.append(f"{r.name}: not significantly worse than {result.baseline.name} in any stratum "
                         f"({', '.join(short_metric(m) for m in result.recipe.compare_metrics)}, Holm, "
                         f"alpha={result.recipe.alpha}). Deployable policy: {policy.describe()}.")
    return notes


def verdicts(result: "ComparisonResult") -> list[Verdict]:
    """Every significant finding of a comparison, worst harm first within a pipeline."""
    return [Verdict(name, result.baseline.name, c) for name, c in result.significant()]


def coverage_notes(result: "ComparisonResult") -> list[str]:
    """What run files left out: judged queries they do not cover (scored 0) and ids not in the corpus."""
    out: dict[str, None] = {}
    for r in result.results:
        for stage in r.stages:
            coverage = stage.info.get("coverage")
            if not coverage:
                continue
            parts = {stage.label: coverage} if "message" in coverage else coverage
            for label, c in parts.items():
                out[f"{label} (in {r.name}) {c['message']}"] = None
    return list(out)


def notes(result: "ComparisonResult") -> list[str]:
    """Findings that need words: run-file coverage, fusion against its components, whether routing is safe."""
    return coverage_notes(result) + fusion_notes(result) + routing_notes(result)
