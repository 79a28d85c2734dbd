"""The decision in words: the one-screen verdict, the report and the bundle's model card."""
from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any

from rerank_fix.evaluate.evaluator import ALL
from rerank_fix.report.tables import fmt_estimate, fmt_number, markdown_table

if TYPE_CHECKING:
    from rerank_fix.fix.result import FixResult


def _signed(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:+.3f}".replace("-", "−")


def _where(dimension: str, stratum: str) -> str:
    from rerank_fix.report.wording import describe_stratum

    return describe_stratum(dimension, stratum)


def decision_phrase(result: "FixResult") -> str:
    """``spell+dense for typo-heavy queries, weighted-rrf elsewhere`` / ``rrf for every query``."""
    policy = result.recommended
    if not policy.switched:
        return f"{policy.fallback} for every query"
    if policy.dimension == ALL:
        return f"{next(iter(policy.switched.values()))} for every query"
    by_choice: dict[str, list[str]] = {}
    for stratum, choice in sorted(policy.switched.items()):
        by_choice.setdefault(choice, []).append(stratum)
    parts = [f"{choice} for {' and '.join(_where(policy.dimension, s) for s in strata)}"
             for choice, strata in by_choice.items()]
    return ", ".join(parts) + f"; {policy.fallback} elsewhere"


def verdict_line(result: "FixResult") -> str:
    """The one-line decision, e.g. ``deploy: rrf for every query; expected nDCG@10 +0.050 [+0.021, +0.080] ...``."""
    e = result.expected
    head = "deploy" if result.safe else "keep the baseline"
    gain = f"expected nDCG@10 {_signed(e.mean)}"
    if not math.isnan(e.low):
        gain += f" [{_signed(e.low)}, {_signed(e.high)}]"
    ce_any = any(c.uses_cross_encoder for c in result.candidates)
    ce = (f"cross-encoder on {result.share_cross_encoder:.0%} of queries (calls saved {1 - result.share_cross_encoder:.0%})"
          if ce_any else "no cross-encoder")
    latency = "" if math.isnan(result.p95_ms) else f"; p95 latency {result.p95_ms:.0f} ms"
    return f"{head}: {decision_phrase(result)}; {gain} vs {result.baseline}; {ce}{latency}"


def verdict_screen(result: "FixResult") -> str:
    """The verdict, guarantees and the few numbers behind them: what ``rerank-fix fix`` prints."""
    comp = result.comparison
    base = comp.baseline.evaluation.overall.metrics["ndcg@10"]
    routed = result.routed_evaluation.overall.metrics["ndcg@10"]
    best = comp.result(result.best_single).evaluation.overall.metrics["ndcg@10"]
    lines = [f"VERDICT  {verdict_line(result)}", ""]
    lines += [f"  {g.line()}" for g in result.guarantees]
    lines += ["",
              f"  data: {comp.eval_set.name}: {len(comp.eval_set.qrels)} queries, {len(comp.eval_set.corpus)} documents; "
              f"{len(result.candidates)} candidates, {len(comp.folds)}-fold nested CV",
              f"  nDCG@10 (CV): baseline {result.baseline} {base.mean:.3f}; best single {result.best_single} "
              f"{best.mean:.3f}; routed {fmt_estimate(routed)}",
              f"  policy: {result.recommended.describe()}"]
    if result.depth_pairs is not None:
        lines.append(f"  {result.depth_pairs.sentence()}")
    for s in result.skipped:
        lines.append(f"  skipped {s.as_line()}")
    for n in result.notes:
        lines.append(f"  note: {n}")
    if result.bundle is not None:
        lines.append(f"  bundle: {result.bundle}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- tables
def candidate_rows(result: "FixResult") -> tuple[list[str], list[list[str]]]:
    from rerank_fix.report.compare import MARK
    comp = result.comparison
    headers = ["#", "candidate", "nDCG@10 (CV) [95% CI]", "Δ vs baseline", "p (Holm)", "R@5", "p95 ms",
               "what it is"]
    rows = []
    for i, c in enumerate(result.candidates):
        r = comp.result(c.name)
        m = r.evaluation.overall.metrics
        if i == 0:
            delta, p = "baseline", "–"
        else:
            cmp = comp.comparison(c.name, ALL, ALL, "ndcg@10")
            delta = _signed(cmp.delta.mean) + (f" {MARK[cmp.verdict]}" if cmp.verdict in MARK else "")
            from rerank_fix.report.tables import fmt_p as format_p

            p = format_p(cmp.p_holm)
        lat = r.latency
        rows.append([str(i), c.name + (" ★" if c.name == result.best_single else ""), fmt_estimate(m["ndcg@10"]),
                     delta, p, fmt_number(m["recall@5"].mean), "–" if math.isnan(lat.p95) else f"{lat.p95:.1f}",
                     c.description])
    return headers, rows


def recommendation_rows(result: "FixResult") -> tuple[list[str], list[list[str]]]:
    from rerank_fix.fix.candidates import second_stage_action, stage_one_summary

    policy = result.recommended
    labels = result.comparison.evaluator.assignments.get(policy.dimension, {})
    strata = sorted(set(labels.values())) if policy.dimension != ALL else [ALL]
    headers = ["stratum", "queries", "pipeline", "stage one (your engine)", "second stage (rerank-fix serve)"]
    rows = []
    for s in strata:
        choice = policy.choice_for(s)
        n = sum(1 for v in labels.values() if v == s) if policy.dimension != ALL else len(result.comparison.eval_set.qrels)
        action = second_stage_action(result.concrete[choice])
        what = action["action"] + ("" if action["action"] == "keep" else
                                   f" {action['reranker']} top {action['depth']}"
                                   + (f", stage-one weight {action['stage_one_weight']:g}" if "stage_one_weight" in action
                                      else ""))
        rows.append([_where(policy.dimension, s) if policy.dimension != ALL else "all queries", str(n), choice,
                     stage_one_summary(result.concrete[choice]), what])
    return headers, rows


def depth_rows(result: "FixResult") -> tuple[list[str], list[list[str]]]:
    d = result.depth_pairs
    headers = ["", "cross-encoder pairs", "saved by the policy", "nDCG@10 [95% CI]", "Δ policy − it [95% CI]", "p"]
    depths = ", ".join(f"{n} at depth {k}" if k else f"{n} not reranked" for k, n in sorted(d.queries_by_depth.items()))
    rows = [[f"per-stratum choice ({depths})", f"{d.policy_pairs:,}", "", fmt_estimate(d.policy_ndcg), "", ""]]
    for f in d.fixed:
        rows.append([f"{f.candidate} on every query ({f.role})", f"{f.pairs:,}",
                     f"{d.saved(f):,} ({d.saved(f) / f.pairs:.0%})" if f.pairs else "–", fmt_estimate(f.ndcg),
                     fmt_estimate(f.delta, signed=True), f"{f.p_value:.2g}"])
    if d.recommended_pairs != d.policy_pairs:
        rows.append([f"recommended ({decision_phrase(result)}; a guarantee failed)", f"{d.recommended_pairs:,}", "",
                     "", "", ""])
    return headers, rows


def headroom_rows(result: "FixResult") -> tuple[list[str], list[list[str]]]:
    headers = ["stage one", "stratum", "n", "R@5", "R@50", "headroom", "room to rerank?"]
    rows = []
    for name, items in result.headroom.items():
        for h in items:
            if h.dimension not in (ALL, "typo", "length", "query_set"):
                continue
            room = "yes" if h.has_room else "no"
            if h.dimension != ALL and h.n < result.comparison.recipe.min_stratum_size:
                room += " (n too small)"
            rows.append([name, "all" if h.dimension == ALL else f"{h.dimension}: {h.stratum}", str(h.n),
                         fmt_number(h.shallow), fmt_number(h.deep), fmt_number(h.headroom), room])
    return headers, rows


def fold_rows(result: "FixResult") -> tuple[list[str], list[list[str]]]:
    headers = ["outer fold", "held-out queries", "policy chosen on the other folds", "held-out nDCG@10"]
    rows = []
    folds = result.comparison.folds
    for i, (policy, fold) in enumerate(zip(result.nested.outcome.fold_policies, folds)):
        held = [result.nested.per_query[q] for q in fold if q in result.nested.per_query]
        rows.append([str(i), str(len(fold)), policy.describe(), fmt_number(sum(held) / max(1, len(held)))])
    return headers, rows


# --------------------------------------------------------------------------------------------- report
def render_report(result: "FixResult", files: dict[str, Any]) -> str:
    from rerank_fix.report.delta_table import delta_table

    comp = result.comparison
    lines = ["# rerank-fix fix: " + comp.eval_set.name, "", "```", verdict_screen(result), "```", ""]
    lines += ["## What to deploy", "", markdown_table(*recommendation_rows(result)), "",
              "Stage one runs in your search engine as stated; `serving.json` gives `rerank-fix serve` the second "
              "stage per stratum. `per_query.tsv` holds this policy's scores on the evaluated queries "
              "(in-sample: the honest estimate is the nested-CV figure above).", ""]
    lines += ["## Guarantees", ""] + [f"- {g.line()}" for g in result.guarantees] + [""]
    comparisons = {"routed (nested CV)": result.routed_comparisons}
    comparisons.update({name: comps for name, comps in comp.comparisons.items()})
    # Overall, the built-in dimensions and the one routed on; every other stratum is in report.json.
    shown = {ALL, "length", "typo", "query_set", result.recommended.dimension, result.nested.outcome.deploy.dimension}
    groups = [g for g in comp.evaluator.groups() if g[0] in shown]
    for metric in ("ndcg@10", "recall@5"):
        lines += [f"## Δ {metric} vs {result.baseline}, per stratum", "",
                  "Paired Δ [95% bootstrap CI]; ▲ / ▼ significantly better / worse (Holm-adjusted randomization test, "
                  f"alpha {comp.recipe.alpha}); (small): fewer than {comp.recipe.min_stratum_size} queries, not judged. "
                  "Tuned candidates are scored cross-validated.", "",
                  markdown_table(*delta_table(comparisons, metric, groups)), ""]
    lines += ["## Candidates", "", f"Cheapest first (ties go to the earlier one); ★ best single candidate.", "",
              markdown_table(*candidate_rows(result)), ""]
    cache = comp.cache
    if cache.get("reranks"):
        lines += [f"Cross-encoder pairs: {cache.get('pairs_scored', 0)} scored, {cache.get('pairs_reused', 0)} reused "
                  f"across depths and blends, {cache.get('pairs_from_disk_cache', 0)} from the score cache of earlier "
                  "runs (each (query, document) pair is scored once).", ""]
    if result.depth_pairs is not None:
        lines += ["## Cross-encoder pairs: the per-stratum choice against one depth for every query", "",
                  markdown_table(*depth_rows(result)), "",
                  "Pairs are counted on the evaluated queries: a query reranked at depth d costs min(d, documents its "
                  "stage one returned), a query the policy leaves to stage one costs none. The per-stratum choice is "
                  "the routing nested cross-validation chose, and its nDCG@10 is the nested-CV figure; each "
                  "alternative's is cross-validated; Δ is paired over all queries.", ""]
    if result.skipped:
        lines += ["Not tried:", ""] + [f"- {s.as_line()}" for s in result.skipped] + [""]
    lines += ["## Headroom (recall@50 − recall@5 ≥ 0.25 leaves room to rerank)", "",
              markdown_table(*headroom_rows(result)), ""]
    lines += ["## Nested cross-validation", "",
              "Each outer fold's policy was chosen (and every tuned value re-tuned) on the other folds only, then "
              "applied to the held-out fold; `query_set` is never routed on (it is not known for a live query).", "",
              markdown_table(*fold_rows(result)), ""]
    if result.nested.shrinks:
        lines += ["Simpler choices kept (the dearer candidate was not significantly better):", ""]
        lines += [f"- {'deploy' if s.fold is None else f'fold {s.fold}'}: {s.sentence()}" for s in result.nested.shrinks]
        lines += [""]
    plots = files.get("plots", {})
    if plots:
        lines += ["## Plots", ""] + [f"![{k}]({v})" for k, v in plots.items()] + [""]
    lines += ["## Files", "", "- `bundle.yaml`: pipeline per stratum, every stage's config, versions",
              "- `policy.json`: the routing policy; `serving.json`: the second stage for `rerank-fix serve`",
              "- `MODEL_CARD.md`, `report.md`, `report.html`, `report.json`, `per_query.tsv`, `runs/*.trec`", ""]
    return "\n".join(lines)


def report_data(result: "FixResult") -> dict[str, Any]:
    from rerank_fix.core.jsonio import to_json_value as _clean

    comp = result.comparison
    return _clean({
        "verdict": verdict_line(result), "safe": result.safe, "baseline": result.baseline,
        "data": result.data, "queries": len(comp.eval_set.qrels), "documents": len(comp.eval_set.corpus),
        "recommended": result.recommended.as_dict(), "routed_deploy": result.nested.outcome.deploy.as_dict(),
        "expected": result.expected.as_dict(), "share_cross_encoder": result.share_cross_encoder,
        "p95_ms": result.p95_ms, "best_single": result.best_single,
        "depth_pairs": result.depth_pairs.as_dict() if result.depth_pairs is not None else None,
        "guarantees": [{"name": g.name, "holds": g.holds, "detail": g.detail} for g in result.guarantees],
        "candidates": [{"name": c.name, "kind": c.kind, "description": c.description,
                        "ndcg@10": comp.result(c.name).evaluation.overall.metrics["ndcg@10"].as_dict()}
                       for c in result.candidates],
        "routed_cv": result.routed_evaluation.overall.metrics["ndcg@10"].as_dict(),
        "routed_comparisons": [c.as_dict() for c in result.routed_comparisons],
        "fold_policies": [p.as_dict() for p in result.nested.outcome.fold_policies],
        "fold_params": result.nested.fold_params,
        "skipped": [s.as_line() for s in result.skipped], "notes": result.notes,
        "models": result.models, "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "generated_at": _dt.datetime.now().isoformat(timespec="seconds"),
    })


def render_card(result: "FixResult") -> str:
    from rerank_fix.core.version import versions

    comp = result.comparison
    lines = ["# Model card: rerank-fix bundle", "",
             f"**Decision.** {verdict_line(result)}", "",
             "## Intended use", "",
             f"Retrieval for queries like those of `{result.data.get('source')}` (split `{result.data.get('split')}`): "
             "apply each stratum's stage one in your engine, and the second stage with `rerank-fix serve` or "
             "`rerank_fix.fix.load_bundle(path)`.", "",
             "## Evidence", "",
             f"- {len(comp.eval_set.qrels)} judged queries, {len(comp.eval_set.corpus)} documents; "
             f"{len(result.candidates)} candidates; {len(comp.folds)}-fold nested cross-validation.",
             *[f"- {g.line()}" for g in result.guarantees], "",
             "## Rerankers", ""]
    lines += [f"- `{name}`: {m.get('path')} ({m.get('source')})" for name, m in result.models.items()] or ["- none"]
    lines += ["", "## Limitations", "",
              "- The expected gain is a cross-validated estimate on this evaluation set; a different query mix "
              "(new segment, new typo rate) needs a new `rerank-fix fix` run.",
              "- Strata with fewer than "
              f"{comp.recipe.min_stratum_size} queries always use the baseline: too few queries to judge.",
              "- Stage-one choices (fusion, spelling correction) must be applied by your search engine; the "
              "reranking server only applies the second stage.", "",
              "## Versions", ""] + [f"- {k} {v}" for k, v in versions().items()] + [""]
    return "\n".join(lines)
