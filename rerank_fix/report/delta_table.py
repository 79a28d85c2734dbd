"""The findings as one table: strata × systems, each cell the paired Δ against the baseline with its CI and ▲/▼.

Replaces walls of finding bullets: a reader scans one row per system and sees at once where it helps,
where it hurts and where the evidence is too thin to say.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from rerank_fix.evaluate.evaluator import ALL, HELPS, HURTS, TOO_SMALL, StratumComparison

MARK = {HELPS: "▲", HURTS: "▼"}


def stratum_label(dimension: str, stratum: str, n: int | None = None) -> str:
    """``all (n=243)``, ``typo: typo-heavy (n=40)``."""
    text = "all" if dimension == ALL else f"{dimension}: {stratum}"
    return f"{text} (n={n})" if n is not None else text


def delta_cell(c: StratumComparison, with_ci: bool = True) -> str:
    """``+0.050 [+0.021, +0.080] ▲``; strata too small to judge get ``(small)`` and no mark."""
    def num(x: float) -> str:
        return "–" if x is None or math.isnan(x) else f"{x:+.3f}".replace("-", "−")

    text = num(c.delta.mean)
    if with_ci and not math.isnan(c.delta.low):
        text += f" [{num(c.delta.low)}, {num(c.delta.high)}]"
    if c.verdict == TOO_SMALL:
        return text + " (small)"
    return text + (f" {MARK[c.verdict]}" if c.verdict in MARK else "")


def delta_table(comparisons: Mapping[str, Sequence[StratumComparison]], metric: str,
                groups: Iterable[tuple[str, str, Sequence[str]]] | None = None, with_ci: bool = True,
                ) -> tuple[list[str], list[list[str]]]:
    """Rows: one per system; columns: one per stratum (overall first); cells: Δ vs the baseline.

    Args:
        comparisons: ``system -> its comparisons with the baseline`` (``StratifiedEvaluator.compare``).
        metric: Which metric's deltas to show.
        groups: ``(dimension, stratum, query_ids)`` in reading order (``StratifiedEvaluator.groups()``);
            default: the strata found in the comparisons, in their order.
        with_ci: Add the 95% CI of each delta.

    Returns:
        ``(headers, rows)`` for :func:`~rerank_fix.report.tables.markdown_table`, plus a last column
        counting significant strata (▲ / ▼) among the columns shown.

    Example:
        >>> from rerank_fix.evaluate.stats import Estimate
        >>> e = Estimate(0.5, 0.4, 0.6, 40)
        >>> c = StratumComparison("all", "all", "ndcg@10", 40, e, e, Estimate(0.05, 0.02, 0.08, 40), 0.001, 0.002, "helps")
        >>> delta_table({"rrf": [c]}, "ndcg@10")[1]
        [['rrf', '+0.050 [+0.020, +0.080] ▲', '1 ▲ / 0 ▼']]
    """
    if groups is None:
        seen: dict[tuple[str, str], int] = {}
        for comps in comparisons.values():
            for c in comps:
                if c.metric == metric:
                    seen.setdefault((c.dimension, c.stratum), c.n)
        columns = [(d, s, n) for (d, s), n in seen.items()]
    else:
        columns = [(d, s, len(q)) for d, s, q in groups]
    headers = ["system"] + [stratum_label(d, s, n) for d, s, n in columns] + ["▲ / ▼ strata"]
    rows = []
    for name, comps in comparisons.items():
        by_key = {(c.dimension, c.stratum): c for c in comps if c.metric == metric}
        row = [name]
        for d, s, _ in columns:
            c = by_key.get((d, s))
            row.append(delta_cell(c, with_ci) if c is not None else "")
        found = [by_key[(d, s)] for d, s, _ in columns if (d, s) in by_key]
        row.append(f"{sum(c.verdict == HELPS for c in found)} ▲ / {sum(c.verdict == HURTS for c in found)} ▼")
        rows.append(row)
    return headers, rows
