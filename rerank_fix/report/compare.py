"""The comparison report: report.md, report.html (one self-contained file), report.json, PNG plots,
TREC runs for every pipeline, the routing policies, and a rich summary for the terminal."""
from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_fix.core.jsonio import to_json_value, write_json, write_text
from rerank_fix.evaluate.evaluator import ALL, HELPS, HURTS, TOO_SMALL
from rerank_fix.report.tables import fmt_estimate, fmt_number, fmt_p, markdown_table
from rerank_fix.report.wording import notes, short_metric, verdicts

if TYPE_CHECKING:
    from rerank_fix.pipeline.runner import ComparisonResult, PipelineResult

logger = logging.getLogger("rerank_fix.report")

MARK = {HELPS: "▲", HURTS: "▼"}


def _p(p: float) -> str:
    return fmt_p(p)


def _ms(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


# ------------------------------------------------------------------------------------------ JSON
def report_dict(result: "ComparisonResult", files: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every figure of the report, machine-readable."""
    recipe = result.recipe
    baseline = result.baseline.name
    pipelines = []
    for r in result.results:
        pipelines.append({
            "name": r.name, "description": r.spec.description, "kind": r.kind,
            "spec": r.spec.model_dump(mode="json"),
            "overall": {m: e.as_dict() for m, e in r.evaluation.overall.metrics.items()},
            "strata": r.evaluation.as_dict()["strata"],
            "stages": [s.as_dict() for s in r.stages],
            "latency_total": r.latency.as_dict(),
            "info": {k: v for k, v in r.info.items() if k != "stages"},
        })
    # "treatment" / "baseline" are the two estimates (StratumComparison.as_dict); the names go in "pipeline" / "versus".
    comparisons = [{**c.as_dict(), "pipeline": name, "versus": baseline}
                   for name, comps in result.comparisons.items() for c in comps]
    return to_json_value({
        "recipe": recipe.model_dump(mode="json"),
        "recipe_file": recipe.source_path,
        "eval_set": {"name": result.eval_set.name, "queries": len(result.eval_set.qrels),
                     "documents": len(result.eval_set.corpus), "source": recipe.data.source,
                     "split": recipe.data.split, "query_sets": recipe.data.query_sets or None},
        "baseline": baseline,
        "metrics": list(result.evaluator.metrics),
        "compare_metrics": list(recipe.compare_metrics),
        "alpha": recipe.alpha,
        "min_stratum_size": recipe.min_stratum_size,
        "strata": {d: {s: len(q) for dd, s, q in result.evaluator.groups() if dd == d}
                   for d in dict.fromkeys(d for d, _, _ in result.evaluator.groups())},
        "models": result.models,
        "pipelines": pipelines,
        "comparisons": comparisons,
        "pairwise": [{**c.as_dict(), "pipeline": a, "versus": b}
                     for (a, b), comps in result.pairwise.items() for c in comps],
        "verdicts": [v.sentence for v in verdicts(result)],
        "notes": notes(result),
        "latency_queries": len(result.latency_queries),
        "cv_folds": [len(f) for f in result.folds],
        "cache": result.cache,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "files": files or {},
        "generated_at": _dt.datetime.now().isoformat(timespec="seconds"),
    })


# -------------------------------------------------------------------------------------- markdown
def headline_rows(result: "ComparisonResult") -> tuple[list[str], list[list[str]]]:
    """Pipeline × (each compare metric ± CI, Δ and Holm p vs baseline) + latency, overall."""
    metrics = list(result.recipe.compare_metrics)
    headers = ["pipeline"]
    for m in metrics:
        headers += [m, f"Δ {m}", "p (Holm)"]
    headers += ["latency p50 / p95 ms", "significant strata"]
    rows = []
    for r in result.results:
        row = [r.name + (" (baseline)" if r is result.baseline else "")]
        for m in metrics:
            row.append(fmt_estimate(r.evaluation.overall.metrics[m]))
            if r is result.baseline:
                row += ["–", "–"]
            else:
                c = result.comparison(r.name, ALL, ALL, m)
                row += [fmt_estimate(c.delta, signed=True) + (f" {MARK[c.verdict]}" if c.verdict in MARK else ""),
                        _p(c.p_holm)]
        amortised = " (batch/query)" if r.latency.amortised else ""
        row.append(f"{_ms(r.latency.p50)} / {_ms(r.latency.p95)}{amortised}")
        if r is result.baseline:
            row.append("–")
        else:
            comps = result.comparisons[r.name]
            helps = sum(c.verdict == HELPS for c in comps)
            hurts = sum(c.verdict == HURTS for c in comps)
            row.append(f"{helps} ▲ / {hurts} ▼")
        rows.append(row)
    return headers, rows


def query_set_rows(result: "ComparisonResult", with_ci: bool = True) -> tuple[list[str], list[list[str]]] | None:
    """Pipeline × query set (clean vs typo versions of the same queries), when the recipe has query sets."""
    from rerank_fix.pipeline.runner import QUERY_SET

    sets = list(result.recipe.data.query_sets)
    if not sets or QUERY_SET not in result.evaluator.assignments:
        return None
    metrics = list(result.recipe.compare_metrics)
    headers = ["pipeline"] + [f"{m} · {s}" for m in metrics for s in sets]
    if len(sets) == 2:
        headers += [f"{m}: {sets[1]} − {sets[0]}" for m in metrics]
    rows = []
    for r in result.results:
        row = [r.name]
        values = {}
        for m in metrics:
            for s in sets:
                est = r.evaluation.stratum(QUERY_SET, s).metrics[m]
                values[(m, s)] = est.mean
                cell = fmt_estimate(est) if with_ci else fmt_number(est.mean)
                if r is not result.baseline:
                    c = result.comparison(r.name, QUERY_SET, s, m)
                    cell += f" {MARK[c.verdict]}" if c.verdict in MARK else ""
                row.append(cell)
        if len(sets) == 2:
            row += [fmt_number(values[(m, sets[1])] - values[(m, sets[0])], signed=True) for m in metrics]
        rows.append(row)
    return headers, rows


def terminal_rows(result: "ComparisonResult") -> tuple[list[str], list[list[str]]]:
    """A narrow headline for the terminal: means, deltas and Holm p-values, no intervals."""
    metrics = list(result.recipe.compare_metrics)
    headers = ["pipeline"] + [h for m in metrics for h in (m, "Δ", "p")] + ["p50 ms", "▲/▼ strata"]
    rows = []
    for r in result.results:
        row = [r.name]
        for m in metrics:
            row.append(fmt_number(r.evaluation.overall.metrics[m].mean))
            if r is result.baseline:
                row += ["", ""]
            else:
                c = result.comparison(r.name, ALL, ALL, m)
                row += [fmt_number(c.delta.mean, signed=True) + MARK.get(c.verdict, ""), _p(c.p_holm)]
        row.append(_ms(r.latency.p50))
        comps = result.comparisons.get(r.name, [])
        row.append("" if r is result.baseline else
                   f"{sum(c.verdict == HELPS for c in comps)}/{sum(c.verdict == HURTS for c in comps)}")
        rows.append(row)
    return headers, rows


def stratum_table(result: "ComparisonResult", metric: str, dimension: str) -> str:
    pipelines = result.results
    headers = ["stratum", "n", f"{result.baseline.name}"] + [f"{r.name} [CI] Δ p(Holm)" for r in pipelines[1:]]
    rows = []
    for dim, stratum, qids in result.evaluator.groups():
        if dim != dimension:
            continue
        base = result.baseline.evaluation.stratum(dim, stratum).metrics[metric]
        row = [stratum, str(len(qids)), fmt_estimate(base)]
        for r in pipelines[1:]:
            c = result.comparison(r.name, dim, stratum, metric)
            value = fmt_estimate(c.treatment, digits=3) if math.isnan(c.treatment.low) else (
                f"{c.treatment.mean:.3f} [{c.treatment.low:.2f}, {c.treatment.high:.2f}]")
            delta = fmt_number(c.delta.mean, signed=True)
            if c.verdict == TOO_SMALL:
                row.append(f"{value} Δ{delta} (too small)")
            else:
                row.append(f"{value} Δ{delta}{MARK.get(c.verdict, '')} p={_p(c.p_holm)}")
        rows.append(row)
    return markdown_table(headers, rows)


def latency_rows(result: "ComparisonResult") -> tuple[list[str], list[list[str]]]:
    headers = ["pipeline", "stage", "p50 ms", "p95 ms", "queries timed", "batch s", "shared"]
    rows = []
    for r in result.results:
        for s in r.stages:
            lat = s.latency()
            rows.append([r.name, s.label, _ms(lat.p50), _ms(lat.p95),
                         str(lat.n) if not lat.amortised else "batch/query", f"{s.seconds:.2f}",
                         "yes" if s.cached else ""])
        rows.append([r.name, "**total**", _ms(r.latency.p50), _ms(r.latency.p95),
                     str(r.latency.n) if not r.latency.amortised else "batch/query", "", ""])
    return headers, rows


def _models_lines(result: "ComparisonResult") -> list[str]:
    lines = []
    for name, m in result.models.items():
        if m.get("source") == "quick_train":
            lines.append(f"- `{name}`: quick-trained from the bundled MiniLM with `rerank_fix.finetune` on "
                         f"`{m.get('train_data')}` split `{m.get('split')}` ({m.get('train_queries')} queries, "
                         f"{m.get('negatives_per_query')} {m.get('negatives_from')} hard negatives each, "
                         f"{m.get('steps')} steps, {m.get('seconds')} s"
                         f"{', reused from cache' if m.get('reused') else ''}) → `{m['path']}`")
        else:
            lines.append(f"- `{name}`: `{m['path']}` ({m.get('source')})")
    return lines


def _pairwise_lines(result: "ComparisonResult") -> list[str]:
    """The recipe's ``also_compare`` pairs: one table per pair, every stratum and compare metric."""
    if not result.pairwise:
        return []

    lines = ["## Other paired comparisons", "",
             "Pairs named in the recipe's `also_compare`; p-values Holm-adjusted across the strata of each metric.", ""]
    for (treatment, baseline), comps in result.pairwise.items():
        lines += [f"**{treatment}** vs **{baseline}**", ""]
        rows = []
        for c in comps:
            rows.append([short_metric(c.metric), c.stratum if c.dimension == ALL else f"{c.dimension}: {c.stratum}",
                         c.n, fmt_number(c.treatment.mean), fmt_number(c.baseline.mean),
                         fmt_estimate(c.delta, signed=True), "–" if c.verdict == TOO_SMALL else _p(c.p_holm),
                         c.verdict])
        lines += [markdown_table(["metric", "stratum", "n", treatment, baseline, "Δ [95% CI]", "p (Holm)", "verdict"],
                                 rows), ""]
    return lines


def _tuning_lines(r: "PipelineResult") -> list[str]:
    lines = []
    for s in r.info.get("stages", []):
        tuning = (s.get("info") or {}).get("tuning")
        if not tuning:
            continue
        lines.append(f"**{r.name}**: `{s['label']}` tuned on {tuning['metric']} over {tuning['grid_size']} grid points; "
                     "each fold scored with values chosen on the other folds:")
        lines.append("")
        # The tuned values are whatever the stage tunes: RRF weights and k, or an interpolation weight.
        params = [k for k in tuning["folds"][0] if k not in ("fold", "n_train", "n_test", "train_score")] \
            if tuning["folds"] else []

        def show(value: Any) -> str:
            return json.dumps(value) if isinstance(value, (dict, list)) else f"{value:g}" \
                if isinstance(value, float) else str(value)

        rows = [[f["fold"], f["n_test"], *(show(f[k]) for k in params), fmt_number(f["train_score"])]
                for f in tuning["folds"]]
        headers = ["fold", "queries scored", *(k.replace("_", " ") for k in params), f"train {tuning['metric']}"]
        lines.append(markdown_table(headers, rows))
        d = tuning["deploy"]
        lines.append("")
        chosen = ", ".join(f"{k.replace('_', ' ')} {show(v)}" for k, v in d.items())
        lines.append(f"For new queries (tuned on all judged queries): {chosen}.")
        lines.append("")
    return lines


def _routing_lines(result: "ComparisonResult", files: dict[str, Any]) -> list[str]:
    lines = []
    for r in result.results:
        if r.routing is None:
            continue
        lines.append(f"**{r.name}** routes between {', '.join(f'`{o}`' for o in r.info['options'])} "
                     f"(fallback `{r.info['options'][0]}`); {r.info['honesty']}.")
        lines.append("")
        if r.routing.fold_policies:
            rows = [[i, p.n_train, p.describe(), fmt_number(p.train_gain, signed=True)]
                    for i, p in enumerate(r.routing.fold_policies)]
            lines.append(markdown_table(["fold", "training queries", "policy", "training gain"], rows))
            lines.append("")
        counts = r.routing.as_dict()["queries_per_choice"]
        lines.append("Queries sent to each pipeline: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
        policy_file = (files.get("policies") or {}).get(r.name)
        lines.append(f"Deployable policy (fitted on all queries): {r.routing.deploy.describe()}"
                     + (f"; saved as `{policy_file}`." if policy_file else "."))
        lines.append("")
    return lines


def render_markdown(result: "ComparisonResult", files: dict[str, Any]) -> str:
    recipe = result.recipe
    es = result.eval_set
    lines = [f"# {recipe.name}: {es.name}", ""]
    if recipe.description:
        lines += [recipe.description.strip(), ""]
    lines += [
        f"- Data: `{recipe.data.source}` split `{recipe.data.split}`"
        + (f", query sets {', '.join(f'`{k}` ({v})' for k, v in recipe.data.query_sets.items())}"
           if recipe.data.query_sets else "")
        + (f", queries file `{recipe.data.queries_file}`" if recipe.data.queries_file else "")
        + f": {len(es.qrels)} judged queries, {len(es.corpus)} documents.",
        f"- Baseline: `{result.baseline.name}`. Every pipeline runs on the same queries; deltas are paired, "
        f"p-values from a paired randomization test, Holm-adjusted across the strata of each metric "
        f"(alpha {recipe.alpha}); strata under {recipe.min_stratum_size} queries are shown, not judged.",
        f"- Latency: each stage timed one query at a time on {len(result.latency_queries)} sampled queries "
        "(dense query vectors computed afresh; hybrid retrievers in parallel threads).",
        f"- Cross-validation (tuned RRF, routing): {len(result.folds)} folds of "
        f"{', '.join(str(len(f)) for f in result.folds)} queries (seed {recipe.seed}).",
        f"- Stage one shared: {result.cache.get('stage_one_cache_hits', 0)} of "
        f"{result.cache.get('stage_one_searches', 0)} stage-one searches reused; "
        f"{result.cache.get('retrievers_indexed', 0)} indexes built. Wall time {result.seconds.get('total', 0):.0f} s.",
    ]
    if result.models:
        lines += ["- Rerankers:"] + ["  " + line for line in _models_lines(result)]
    lines += ["", "## Headline", ""]
    headers, rows = headline_rows(result)
    lines += [markdown_table(headers, rows), "", "▲ / ▼: significantly better / worse than the baseline "
              "(Holm-adjusted p < alpha).", ""]
    by_set = query_set_rows(result)
    if by_set is not None:
        lines += ["### Per query set", "", "The same queries in each version, same judgements; ▲ / ▼ against the "
                  "baseline on that query set.", "", markdown_table(*by_set), ""]
    plots = files.get("plots", {})
    if "headline" in plots:
        lines += [f"![overall scores]({plots['headline']})", ""]
    lines += ["## Findings", ""]
    from rerank_fix.report.delta_table import delta_table

    if not verdicts(result):
        lines += ["No pipeline differs significantly from the baseline in any stratum.", ""]
    for metric in recipe.compare_metrics:
        lines += [f"**Δ {metric} vs {result.baseline.name}** (paired Δ [95% CI]; ▲ / ▼ significant after Holm; "
                  "(small): too few queries to judge)", "",
                  markdown_table(*delta_table(result.comparisons, metric, result.evaluator.groups())), ""]
    lines += [n for note in notes(result) for n in (note, "")]
    lines += ["## Per stratum", ""]
    dims = list(dict.fromkeys(d for d, _, _ in result.evaluator.groups() if d != ALL))
    for metric in recipe.compare_metrics:
        lines += [f"### {metric}", ""]
        if f"delta_{metric}" in plots:
            lines += [f"![delta per stratum, {metric}]({plots[f'delta_{metric}']})", ""]
        for dim in [ALL, *dims]:
            lines += [f"**{'overall' if dim == ALL else dim}**", "", stratum_table(result, metric, dim), ""]
    lines += _pairwise_lines(result)
    lines += ["## Recall@k", ""]
    if "recall" in plots:
        lines += [f"![recall@k per pipeline and stratum]({plots['recall']})", ""]
    lines += ["## Latency per stage", ""]
    headers, rows = latency_rows(result)
    lines += [markdown_table(headers, rows), ""]
    if "latency" in plots:
        lines += [f"![latency]({plots['latency']})", ""]
    tuning = [line for r in result.results for line in _tuning_lines(r)]
    if tuning:
        lines += ["## Tuned fusion and interpolation (cross-validated)", ""] + tuning
    routing = _routing_lines(result, files)
    if routing:
        lines += ["## Routing", ""] + routing
    lines += ["## Files", "", "- `report.json`: every figure above, machine-readable",
              "- `report.html`: this report in one self-contained file",
              "- `runs/<pipeline>.trec`: TREC run of every pipeline"]
    if files.get("policies"):
        lines += ["- `routing/<pipeline>.policy.json`: routing policies to apply at query time "
                  "(`RoutingPolicy.load(path).route(queries, corpus)`)"]
    lines += ["- `plots/*.png`: the plots", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- writing
def write_comparison_report(result: "ComparisonResult", out_dir: str | Path, plots: bool = True) -> dict[str, Path]:
    """Write every output of a comparison; returns ``{"md", "html", "json", ...}`` paths."""
    from rerank_fix.report.html import markdown_to_html

    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {"runs": {}, "plots": {}, "policies": {}}
    for r in result.results:
        files["runs"][r.name] = str(r.run.to_trec(out / "runs" / f"{r.name}.trec").relative_to(out))
        if r.routing is not None:
            path = r.routing.deploy.save(out / "routing" / f"{r.name}.policy.json")
            files["policies"][r.name] = str(path.relative_to(out))
    if plots:
        files["plots"] = _write_plots(result, out / "plots")
    md = render_markdown(result, files)
    write_text(out / "report.md", md)
    write_json(out / "report.json", report_dict(result, files))
    write_text(out / "report.html", markdown_to_html(md, base_dir=out, title=f"{result.recipe.name}: {result.eval_set.name}"))
    return {"md": out / "report.md", "html": out / "report.html", "json": out / "report.json", "dir": out}


def _write_plots(result: "ComparisonResult", folder: Path) -> dict[str, str]:
    from rerank_fix.report import compare_plots

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    jobs = [("headline", lambda p: compare_plots.plot_headline(result, list(result.recipe.compare_metrics), p)),
            ("recall", lambda p: compare_plots.plot_recall_curves(result, p)),
            ("latency", lambda p: compare_plots.plot_latency(result, p))]
    jobs += [(f"delta_{m}", lambda p, m=m: compare_plots.plot_delta_per_stratum(result, m, p))
             for m in result.recipe.compare_metrics]
    if len(result.results) < 2:
        jobs = [j for j in jobs if not j[0].startswith("delta_")]
    for key, fn in jobs:
        name = key.replace("@", "_at_") + ".png"
        fn(folder / name)
        out[key] = f"plots/{name}"
    return out


# --------------------------------------------------------------------------------------- terminal
def print_summary(result: "ComparisonResult", console: Any = None, report_path: Path | None = None) -> None:
    """The headline table and the findings, for the terminal."""
    from rich.text import Text

    from rerank_fix.report.tables import rich_table, terminal_console

    console = console or terminal_console()
    headers, rows = terminal_rows(result)
    console.print(rich_table(f"{result.recipe.name}: {result.eval_set.name} (baseline {result.baseline.name})",
                             headers, rows))
    by_set = query_set_rows(result, with_ci=False)
    if by_set is not None:
        console.print(rich_table("per query set", *by_set))
    for v in verdicts(result):
        style = "green" if v.comparison.verdict == HELPS else "red"
        console.print(Text("• " + v.sentence, style=style))
    for n in notes(result):
        console.print(Text("• " + n))
    if report_path is not None:
        console.print(Text(f"report: {report_path}", style="bold"))
