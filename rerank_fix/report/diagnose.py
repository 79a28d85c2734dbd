"""Markdown rendering of a diagnosis."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rerank_fix.report.tables import fmt_estimate, fmt_number, fmt_p, markdown_table

if TYPE_CHECKING:
    from rerank_fix.diagnose import Diagnosis


def headers(diagnosis: "Diagnosis", with_rerank: bool) -> list[str]:
    cols = ["dimension", "stratum", "n", *diagnosis.config.metrics, "headroom", "room to help"]
    if with_rerank:
        cols += ["Δ nDCG@10 (rerank)", "p (Holm)", "verdict"]
    return cols


def render_markdown(diagnosis: "Diagnosis", plots: dict[str, list[str]]) -> str:
    from rerank_fix.diagnose import headline_rows

    cfg = diagnosis.config
    lines = [f"# rerank-fix diagnose: {diagnosis.eval_set_name}", "",
             f"{diagnosis.n_queries} judged queries. Metrics are means with 95% bootstrap confidence intervals. "
             f"Headroom = recall@50 − recall@5; reranking has room to help where it is ≥ {cfg.headroom_threshold}. "
             f"Strata with fewer than {cfg.min_stratum_size} queries are too small to judge.", ""]
    for name, system in diagnosis.systems.items():
        with_rerank = system.reranked_evaluation is not None
        lines += [f"## Stage one: {name}", "",
                  markdown_table(headers(diagnosis, with_rerank), headline_rows(diagnosis, system)), ""]
        if with_rerank:
            lines += [f"### What reranking the top {cfg.rerank_depth} did ({cfg.reranker})", "",
                      "Paired randomization test per stratum, Holm-corrected across strata.", ""]
            rows = [[c.metric, c.dimension, c.stratum, c.n, fmt_estimate(c.baseline), fmt_estimate(c.treatment),
                     fmt_estimate(c.delta, signed=True), fmt_p(c.p_value), fmt_p(c.p_holm), c.verdict]
                    for c in system.comparisons]
            lines += [markdown_table(["metric", "dimension", "stratum", "n", "stage one", "reranked", "Δ [95% CI]",
                                      "p", "p (Holm)", "verdict"], rows), ""]
            lines += _verdict_sentences(system, cfg.headroom_threshold)
        lines += [f"![{p}]({p})" for p in plots.get(name, [])] + [""]
    lines += ["## Files", "", "- `report.json`: every figure above, machine-readable",
              "- `per_query.*.tsv`: per-query metrics", "- `runs/*.trec`: TREC run files", ""]
    return "\n".join(lines)


def _verdict_sentences(system, threshold: float) -> list[str]:
    room = {(h.dimension, h.stratum): h for h in system.headroom}
    out = []
    for c in system.comparisons:
        if c.metric != "ndcg@10" or c.dimension == "all" and c.stratum != "all":
            continue
        h = room[(c.dimension, c.stratum)]
        where = "overall" if c.dimension == "all" else f"{c.dimension} = {c.stratum}"
        out.append(f"- **{where}** (n={c.n}): reranking {c.verdict} (Δ nDCG@10 {fmt_number(c.delta.mean, signed=True)}, "
                   f"p={fmt_p(c.p_holm)}); headroom {fmt_number(h.headroom)} "
                   f"{'≥' if h.has_room else '<'} {threshold}.")
    return out + [""]
