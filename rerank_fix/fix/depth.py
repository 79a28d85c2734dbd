"""Cross-encoder pairs: what the chosen per-stratum policy scores, against reranking every query at one depth.

The policy is the routing nested cross-validation chose (the per-stratum choice, with the depth each stratum
was given); when a guarantee fails ``fix`` recommends the baseline instead, and its pairs are given beside. The
policy reranks a query with the candidate its stratum is routed to, at that candidate's depth; a query routed
to a stage one alone (or a fusion, or spelling correction) costs no pair. A query's pairs at depth ``d`` are
``min(d, documents its stage one returned)``. The comparison is with the cross-encoder candidate that reranks
every query at the deepest depth tried, and with the best single cross-encoder candidate (any depth), each with
its cross-validated nDCG@10 and the paired difference to the policy's nested-CV figure, so "saved" can be read
at (or away from) equal quality.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from rerank_fix.core.run import Run
from rerank_fix.evaluate.stats import Estimate, bootstrap_ci, paired_test
from rerank_fix.fix.candidates import Candidate


def policy_pairs(choices: Mapping[str, str], candidates: Mapping[str, Candidate], runs: Mapping[str, Run]
                 ) -> dict[str, int]:
    """Cross-encoder pairs per query when query ``q`` is ranked by candidate ``choices[q]``.

    Example:
        >>> from rerank_fix.fix.candidates import RERANK, STAGE_ONE
        >>> cands = {"bm25": Candidate("bm25", [], STAGE_ONE),
        ...          "bm25+ce-top2": Candidate("bm25+ce-top2", [], RERANK, base="bm25", reranker="ce", depth=2)}
        >>> runs = {"bm25": Run("bm25", {"a": [("d1", 2.0), ("d2", 1.0), ("d3", 0.5)], "b": [("d1", 1.0)]})}
        >>> policy_pairs({"a": "bm25+ce-top2", "b": "bm25+ce-top2", "c": "bm25"}, cands, runs)
        {'a': 2, 'b': 1, 'c': 0}
    """
    out: dict[str, int] = {}
    for q, name in choices.items():
        c = candidates[name]
        out[q] = min(int(c.depth or 0), len(runs[c.base].results.get(q, []))) if c.uses_cross_encoder else 0
    return out


@dataclass
class FixedDepth:
    """Every query reranked by one cross-encoder candidate: its pairs and quality against the policy's."""

    role: str
    candidate: str
    depth: int
    pairs: int
    ndcg: Estimate
    delta: Estimate  # policy (nested CV) minus this candidate (CV), paired over all queries
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "candidate": self.candidate, "depth": self.depth, "pairs": self.pairs,
                "ndcg@10": self.ndcg.as_dict(), "delta_policy_minus_this": self.delta.as_dict(),
                "p_value": self.p_value}


@dataclass
class DepthPairs:
    """Pairs the deployed policy scores on the evaluated queries, and what fixed-depth reranking would score.

    Args:
        policy_pairs: Pairs of the chosen per-stratum policy (nested CV's deploy policy) over the evaluated queries.
        cv_policy_pairs: Pairs of the nested-CV routed run (each query as its outer fold's policy routed it).
        recommended_pairs: Pairs of the recommended policy (the chosen one, or the baseline when a guarantee
            failed).
        n_queries: Evaluated queries.
        queries_by_depth: ``depth -> queries`` the chosen policy reranks that deep (0: not reranked).
        policy_ndcg: The policy's nested-CV nDCG@10 (the honest figure).
        fixed: The fixed-depth alternatives.
    """

    policy_pairs: int
    cv_policy_pairs: int
    recommended_pairs: int
    n_queries: int
    queries_by_depth: dict[int, int]
    policy_ndcg: Estimate
    fixed: list[FixedDepth]

    def saved(self, fixed: FixedDepth) -> int:
        return fixed.pairs - self.policy_pairs

    def sentence(self) -> str:
        """``cross-encoder pairs: 1,050 for the policy vs 7,500 for dense+m-top50 at depth 50 (86% saved) ...``."""
        parts = []
        for f in self.fixed:
            share = self.saved(f) / f.pairs if f.pairs else 0.0
            parts.append(f"{f.pairs:,} for {f.candidate} on every query ({f.role}; {share:.0%} saved, nDCG@10 "
                         f"{_est(f.ndcg)}, Δ policy − it {_est(f.delta, signed=True)}, p={f.p_value:.2g})")
        text = (f"cross-encoder pairs: {self.policy_pairs:,} for the per-stratum choice (nDCG@10 "
                f"{_est(self.policy_ndcg)}, nested CV) vs " + "; ".join(parts))
        if self.recommended_pairs != self.policy_pairs:
            text += f"; the recommendation scores {self.recommended_pairs:,}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"policy_pairs": self.policy_pairs, "cv_policy_pairs": self.cv_policy_pairs,
                "recommended_pairs": self.recommended_pairs, "queries": self.n_queries,
                "queries_by_depth": {str(k): v for k, v in sorted(self.queries_by_depth.items())},
                "policy_ndcg@10_nested_cv": self.policy_ndcg.as_dict(),
                "fixed": [dict(f.as_dict(), pairs_saved=self.saved(f)) for f in self.fixed]}


def _est(e: Estimate, signed: bool = False) -> str:
    f = "{:+.3f}" if signed else "{:.3f}"
    text = f.format(e.mean)
    return text if e.low != e.low else f"{text} [{f.format(e.low)}, {f.format(e.high)}]"


def depth_pairs(candidates: Sequence[Candidate], runs: Mapping[str, Run], choices: Mapping[str, str],
                cv_choices: Mapping[str, str], recommended: Mapping[str, str], policy_per_query: Mapping[str, float], policy_ndcg: Estimate,
                per_query: Mapping[str, Mapping[str, float]], estimates: Mapping[str, Estimate],
                confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> DepthPairs | None:
    """The pairs figure for ``fix``; None when no candidate uses a cross-encoder.

    Args:
        candidates: Every candidate, cheapest first.
        runs: ``candidate -> run`` (the bases' runs give each query's stage-one length).
        choices: ``query -> candidate`` of the chosen per-stratum policy (nested CV's deploy policy).
        cv_choices: ``query -> candidate`` of the nested-CV routed run.
        recommended: ``query -> candidate`` of the recommended policy.
        policy_per_query: The nested-CV routed run's nDCG@10 per query.
        policy_ndcg: Its mean with CI.
        per_query: ``candidate -> query -> nDCG@10`` (CV for tuned candidates).
        estimates: ``candidate -> nDCG@10 estimate``.
    """
    by_name = {c.name: c for c in candidates}
    ce = [c for c in candidates if c.uses_cross_encoder]
    if not ce:
        return None
    pairs = policy_pairs(choices, by_name, runs)
    by_depth: dict[int, int] = {}
    for q, name in choices.items():
        depth = int(by_name[name].depth or 0) if by_name[name].uses_cross_encoder else 0
        by_depth[depth] = by_depth.get(depth, 0) + 1
    deepest = max(int(c.depth or 0) for c in ce)
    # Ties keep the cheaper (earlier) candidate: max() returns the first of equal keys.
    best_deep = max((c for c in ce if c.depth == deepest), key=lambda c: estimates[c.name].mean)
    best_any = max(ce, key=lambda c: estimates[c.name].mean)
    roles = [(best_deep, f"deepest depth tried, {deepest}")]
    if best_any.name != best_deep.name:
        roles.append((best_any, f"best single cross-encoder candidate, depth {best_any.depth}"))
    else:
        roles[0] = (best_deep, f"deepest depth tried, {deepest}, and the best single cross-encoder candidate")
    fixed = []
    queries = list(choices)
    for c, role in roles:
        fixed_pairs = sum(policy_pairs({q: c.name for q in queries}, by_name, runs).values())
        common = [q for q in queries if q in policy_per_query and q in per_query[c.name]]
        a = [policy_per_query[q] for q in common]
        b = [per_query[c.name][q] for q in common]
        fixed.append(FixedDepth(role, c.name, int(c.depth or 0), fixed_pairs, estimates[c.name],
                                bootstrap_ci([x - y for x, y in zip(a, b)], confidence, n_resamples, seed),
                                paired_test(a, b, n_resamples=max(n_resamples, 5000), seed=seed)))
    cv_pairs = sum(policy_pairs(cv_choices, by_name, runs).values())
    recommended_pairs = sum(policy_pairs(recommended, by_name, runs).values())
    return DepthPairs(sum(pairs.values()), cv_pairs, recommended_pairs, len(choices), by_depth, policy_ndcg, fixed)
