"""The two promises a recommendation must keep before ``rerank-fix fix`` recommends it.

1. Safety: in no stratum is it significantly worse than the baseline (paired test, Holm-adjusted over the
   strata of each metric, on its cross-validated run).
2. Quality: its cross-validated headline metric is within ``tolerance`` of the best single candidate, or
   above it (routing must not throw away what one candidate alone would have given).

Where either cannot be shown, the safe baseline is recommended and the reason is given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from rerank_fix.evaluate.evaluator import HURTS, TOO_SMALL, StratumComparison

QUALITY_TOLERANCE = 0.005


@dataclass
class Guarantee:
    """One promise, whether it holds, and the evidence in words.

    Example:
        >>> Guarantee("safety", True, "never significantly worse").line()
        '✔ safety: never significantly worse'
    """

    name: str
    holds: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{'✔' if self.holds else '✘'} {self.name}: {self.detail}"


def check_safety(comparisons: Sequence[StratumComparison], alpha: float, baseline: str) -> Guarantee:
    """No stratum × metric pair significantly worse than the baseline (Holm)."""
    from rerank_fix.report.tables import fmt_p as format_p
    from rerank_fix.report.wording import describe_stratum, short_metric

    worse = [c for c in comparisons if c.verdict == HURTS]
    judged = [c for c in comparisons if c.verdict != TOO_SMALL]
    metrics = sorted({c.metric for c in comparisons})
    if worse:
        where = "; ".join(f"{describe_stratum(c.dimension, c.stratum)} {short_metric(c.metric)} {c.delta.mean:+.3f} "
                          f"(p={format_p(c.p_holm)})" for c in worse)
        return Guarantee("not worse than the baseline in any stratum", False,
                         f"significantly worse than {baseline} in {len(worse)} stratum/metric pair(s): {where}",
                         {"worse": [c.as_dict() for c in worse], "judged": len(judged)})
    small = len(comparisons) - len(judged)
    detail = (f"no stratum significantly worse than {baseline} ({', '.join(short_metric(m) for m in metrics)}; "
              f"{len(judged)} stratum/metric pairs judged, Holm, alpha {alpha})")
    if small:
        detail += f"; {small} pair(s) in strata too small to judge"
    if not judged:
        return Guarantee("not worse than the baseline in any stratum", False,
                         "cannot be shown: every stratum is too small to judge (too few queries)", {"judged": 0})
    return Guarantee("not worse than the baseline in any stratum", True, detail, {"worse": [], "judged": len(judged)})


def check_quality(routed_mean: float, best_name: str, best_mean: float, metric: str,
                  tolerance: float = QUALITY_TOLERANCE) -> Guarantee:
    """The routed CV figure is at least ``best - tolerance``."""
    from rerank_fix.report.wording import short_metric

    gap = routed_mean - best_mean
    holds = gap >= -tolerance - 1e-12
    what = "above" if gap > 0 else "within" if holds else "below"
    detail = (f"cross-validated {short_metric(metric)} {routed_mean:.3f} vs best single candidate {best_name} "
              f"{best_mean:.3f} (Δ {gap:+.3f}; {what} the {tolerance:g} tolerance)")
    return Guarantee(f"within {tolerance:g} of the best single candidate", holds, detail,
                     {"routed": routed_mean, "best": best_name, "best_mean": best_mean, "gap": gap})
