"""The model card (README.md) of an exported reranker."""
from __future__ import annotations

import json
from typing import Any

STRATA_METRICS = ("ndcg@10", "recall@5", "mrr@10")
# Names rerank_fix.models.resolve_model maps to the bundled all-MiniLM-L6-v2 weights.
BUNDLED_ALIASES = (None, "", "default", "bundled", "bundled:all-MiniLM-L6-v2", "all-MiniLM-L6-v2")


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _stat(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else _fmt(value)


def _table(header: list[str], rows: list[list[Any]], fmt=_fmt) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines


def before_after_rows(before: dict, after: dict) -> tuple[list[str], list[list[Any]]]:
    """Stratified dev table from the run summary's step-0 and best evaluations."""
    metrics = [m for m in STRATA_METRICS if m in before["metrics"]] or [m for m in before["metrics"] if "@" in m]
    after_strata = {(s["dimension"], s["stratum"]): s for s in after.get("strata", [])}
    header = ["dimension", "stratum", "n"] + [f"{m} {w}" for m in metrics for w in ("before", "after", "Δ")]
    rows = []
    for s in before.get("strata", []):
        a = after_strata.get((s["dimension"], s["stratum"]))
        if a is None:
            continue
        row: list[Any] = [s["dimension"], s["stratum"], s["n"]]
        for m in metrics:
            b_mean, a_mean = s["metrics"][m]["mean"], a["metrics"][m]["mean"]
            row += [b_mean, a_mean, f"{a_mean - b_mean:+.4f}"]
        rows.append(row)
    return header, rows


def report_rows(report: dict) -> tuple[list[str], list[list[Any]]]:
    """Comparison rows of a recipe report.json (``rerank-fix compare``)."""
    header = ["pipeline", "versus", "dimension", "stratum", "metric", "n", "baseline", "treatment", "Δ (95% CI)",
              "p (Holm)", "verdict"]
    rows = []
    for c in [*report.get("comparisons", []), *report.get("pairwise", [])]:
        delta = c.get("delta", {})
        ci = f"{delta.get('mean', 0):+.4f} [{delta.get('ci_low', float('nan')):+.4f}, {delta.get('ci_high', float('nan')):+.4f}]"
        rows.append([c.get("pipeline", "?"), c.get("versus", report.get("baseline", "?")), c.get("dimension"),
                     c.get("stratum"), c.get("metric"), c.get("n"),
                     c.get("baseline", {}).get("mean"), c.get("treatment", {}).get("mean"), ci,
                     c.get("p_holm"), c.get("verdict")])
    return header, rows


def render_card(name: str, base_model: str | None, summary: dict | None, data_stats: dict | None,
                config_yaml: str | None, report: dict | None, policy: Any, export_info: dict) -> str:
    """Markdown model card with Hugging Face front matter.

    Args:
        name: Model name.
        base_model: Starting checkpoint.
        summary: The run's ``summary.json`` (before/after evaluations), or ``None``.
        data_stats: The run's ``data_stats.json``.
        config_yaml: The training config as YAML text.
        report: A recipe ``report.json`` mentioning this model, or ``None``.
        policy: A ``RoutingPolicy`` (or ``None``).
        export_info: Files, checksums, verification and parity results.
    """
    if base_model in BUNDLED_ALIASES:
        base_model = "sentence-transformers/all-MiniLM-L6-v2"
    lines = ["---", "library_name: sentence-transformers", "pipeline_tag: text-ranking",
             "tags: [cross-encoder, reranker, rerank-fix]"]
    if base_model and not base_model.startswith(("/", ".", "~")):
        lines.append(f"base_model: {base_model}")
    lines += ["---", "", f"# {name}", "",
              f"A cross-encoder reranker fine-tuned with rerank-fix"
              + (f" from `{base_model}`." if base_model else "."), "",
              "## Usage", "", "```python", "from sentence_transformers import CrossEncoder", "",
              "model = CrossEncoder(\"path/to/this/folder\")",
              "scores = model.predict([(\"query\", \"candidate document\"), (\"query\", \"another document\")])",
              "```", "",
              "In a rerank-fix recipe, name this folder as the reranker of a rerank stage.", ""]
    if summary:
        lines += ["## Training", "",
                  f"- steps: {summary.get('global_step')} (best dev checkpoint at step {summary.get('best_step')}"
                  f"{', stopped early' if summary.get('stopped_early') else ''})",
                  f"- selection metric: {summary.get('selection_metric')} = {_fmt(summary.get('best_metric'))}",
                  f"- weights origin: {summary.get('weights_origin')}",
                  f"- parameters: {summary.get('parameters'):,}" if summary.get("parameters") else "- parameters: –",
                  f"- training time: {summary.get('train_runtime_s')} s", ""]
    if data_stats:
        keys = ["triples", "queries", "positives_mean", "negatives_mean", "negatives_min", "negatives_max",
                "negatives_needed", "query_words_mean", "doc_words_mean", "dropped_dev_queries",
                "dropped_too_few_negatives", "repeated_negatives"]
        lines += ["### Data", ""] + _table(["statistic", "value"], [[k, data_stats.get(k)] for k in keys
                                                                       if k in data_stats], fmt=_stat)
        aug = data_stats.get("typo_augmentation") or {}
        lines += ["", f"Typo augmentation: {'on' if aug.get('enabled') else 'off'}"
                  + (f" ({aug.get('function')}, probability {aug.get('probability')}, rate {aug.get('rate')})"
                     if aug.get("enabled") else ""), ""]
    if config_yaml:
        lines += ["### Config", "", "```yaml", config_yaml.rstrip(), "```", ""]
    if summary and summary.get("before") and summary.get("after"):
        dev = summary.get("dev") or {}
        header, rows = before_after_rows(summary["before"], summary["after"])
        lines += ["## Dev evaluation: before and after fine-tuning, stratified", "",
                  f"{dev.get('dev_queries', '?')} dev queries of {dev.get('collection', '?')} "
                  f"({dev.get('split', '?')} split{', carved out of training' if dev.get('dev_fraction') else ''}); "
                  f"{dev.get('first_stage', '?')} top-{dev.get('depth', '?')} reranked. Before = the starting "
                  f"model (step 0), after = the selected checkpoint. The held-out "
                  f"{dev.get('test_split', 'test')} split was never used for selection.", ""]
        lines += _table(header, rows) + [""]
    if report:
        header, rows = report_rows(report)
        eval_set = report.get("eval_set", {})
        lines += ["## Recipe report", "",
                  f"From `report.json` on {eval_set.get('name', '?')} ({eval_set.get('queries', '?')} queries); "
                  "paired randomization tests, Holm-corrected per metric.", ""]
        lines += _table(header, rows) + [""]
        for verdict in report.get("verdicts", []):
            lines.append(f"- {verdict}")
        lines.append("")
    if policy is not None:
        lines += ["## Routing policy", "", f"{policy.describe()}", "",
                  f"Routed on `{policy.dimension}`, chosen by {policy.metric} (alpha {policy.alpha}) on "
                  f"{policy.n_train} training queries; fallback `{policy.fallback}`.", ""]
        if policy.evidence:
            lines += _table(["stratum", "n", "choice", "Δ vs fallback", "p (Holm)"],
                            [[e.stratum, e.n, e.choice, json.dumps({k: round(v, 4) for k, v in e.deltas.items()}),
                              json.dumps({k: round(v, 4) for k, v in e.p_holm.items()})] for e in policy.evidence])
            lines.append("")
    lines += ["## Export", "", f"- weights: `model.safetensors` (sha256 `{export_info.get('sha256', '?')[:16]}…`)",
              f"- verified: reloaded with `CrossEncoder(path)`, {export_info.get('verify', {}).get('pairs', '?')} "
              f"sample pairs re-scored, max |Δ| {_fmt(export_info.get('verify', {}).get('max_abs_diff'), 6)}"]
    for p in export_info.get("parity", []):
        lines.append(f"- `{p['file']}` ({p['variant']}): Pearson {p['pearson']:.4f} with the torch scores over "
                     f"{p['pairs']} dev pairs, nDCG@10 {p['ndcg@10_variant']:.4f} vs {p['ndcg@10_torch']:.4f} "
                     f"(drop {p['ndcg@10_drop']:+.4f}; limits: Pearson ≥ {p['thresholds']['min_pearson']}, "
                     f"drop ≤ {p['thresholds']['max_ndcg@10_drop']})")
    lines += ["", "## Limitations", "",
              "Measured on the dev split named above only; a reranker tuned on one collection can hurt on another "
              "(check the per-stratum table before routing all queries through it).", ""]
    return "\n".join(lines)
