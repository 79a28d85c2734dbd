"""The diagnose report: runs, per-query metrics, report.json (strict JSON), report.md and plots."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rerank_fix.core.jsonio import atomic_writer, write_json, write_text
from rerank_fix.evaluate.evaluator import ALL, RunEvaluation
from rerank_fix.report.tables import fmt_compact, fmt_estimate, fmt_number, fmt_p, markdown_table

if TYPE_CHECKING:
    from rerank_fix.pipeline.diagnose import Diagnosis, SystemDiagnosis


def headers(diagnosis: "Diagnosis", with_rerank: bool) -> list[str]:
    cols = ["dimension", "stratum", "n", *diagnosis.config.metrics, "headroom", "room to help"]
    if with_rerank:
        cols += ["Δ nDCG@10 (rerank)", "p (Holm)", "verdict"]
    return cols


def headline_rows(diagnosis: "Diagnosis", system: "SystemDiagnosis", compact: bool = False) -> list[list[str]]:
    """Per-stratum rows: metrics with CI, headroom and (with a reranker) the observed effect."""
    fmt = fmt_compact if compact else fmt_estimate

    effect = {(c.dimension, c.stratum): c for c in system.comparisons if c.metric == "ndcg@10"}
    rows = []
    for s, h in zip(system.evaluation.strata, system.headroom):
        row = ["overall" if s.dimension == ALL else s.dimension, "all" if s.dimension == ALL else s.stratum, str(s.n)]
        row += [fmt(s.metrics[m], 3) for m in diagnosis.config.metrics]
        room = "yes" if h.has_room else "no"
        if s.n < diagnosis.config.min_stratum_size:
            room += " (n too small)"
        row += [fmt_number(h.headroom), room]
        if effect:
            c = effect[(s.dimension, s.stratum)]
            row += [fmt_number(c.delta.mean, signed=True), fmt_p(c.p_holm), c.verdict]
        rows.append(row)
    return rows


def render_markdown(diagnosis: "Diagnosis", plots: dict[str, list[str]]) -> str:
    cfg = diagnosis.config
    lines = [f"# rerank-fix diagnose: {diagnosis.eval_set_name}", "",
             f"{diagnosis.n_queries} judged queries. Metrics are means with 95% bootstrap confidence intervals. "
             f"Headroom = recall@50 − recall@5; reranking has room to help where it is ≥ {cfg.headroom_threshold}. "
             f"Strata with fewer than {cfg.min_stratum_size} queries are too small to judge.", ""]
    for name, system in diagnosis.systems.items():
        with_rerank = system.reranked_evaluation is not None
        lines += [f"## Stage one: {name}", ""]
        coverage = system.info.get("coverage")
        if coverage:
            lines += [f"Run file `{system.info.get('path')}`: {coverage['message']}", ""]
        lines += [markdown_table(headers(diagnosis, with_rerank), headline_rows(diagnosis, system)), ""]
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


def _verdict_sentences(system: "SystemDiagnosis", threshold: float) -> list[str]:
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


def write_outputs(diagnosis: "Diagnosis", out_dir: str | Path) -> Path:
    """Write runs, per-query metrics, report.json, report.md and plots; returns the report.md path."""
    from rerank_fix.report.plots import plot_deltas, plot_headroom, plot_recall_curves

    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    plots: dict[str, list[str]] = {}
    for name, system in diagnosis.systems.items():
        system.run.to_trec(out / "runs" / f"{name}.trec")
        write_per_query(system.evaluation, out / f"per_query.{name}.tsv")
        plots[name] = [
            plot_recall_curves(system.evaluation, out / f"recall_curves.{name}.png").name,
            plot_headroom(system.headroom, out / f"headroom.{name}.png",
                          f"Headroom per stratum: {name}").name]
        if system.reranked is not None:
            system.reranked.to_trec(out / "runs" / f"{name}+rerank.trec")
            write_per_query(system.reranked_evaluation, out / f"per_query.{name}+rerank.tsv")
            plots[name].append(plot_deltas(system.comparisons, out / f"rerank_effect.{name}.png",
                                           f"Reranking the top {diagnosis.config.rerank_depth} of {name}").name)
    write_json(out / "report.json", diagnosis.as_dict())
    return write_text(out / "report.md", render_markdown(diagnosis, plots))


def write_per_query(evaluation: RunEvaluation, path: Path) -> None:
    """``query_id<TAB>metric...`` with six decimals, one line per query."""
    metrics = list(evaluation.per_query)
    qids = list(next(iter(evaluation.per_query.values())).keys()) if metrics else []
    with atomic_writer(path) as handle:
        handle.write("query_id\t" + "\t".join(metrics) + "\n")
        for qid in qids:
            handle.write(qid + "\t" + "\t".join(f"{evaluation.per_query[m][qid]:.6f}" for m in metrics) + "\n")
