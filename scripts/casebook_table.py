"""A casebook table from a `rerank-fix compare` report.json: per stratum, the baseline's headroom (mean recall@50 -
mean recall@5, the rule's prediction: rerank only where it is >= 0.25, when both metrics were computed) against the
observed nDCG@10 delta of every other pipeline vs the baseline (mean [95% CI], ▲/▼ when significant after Holm).

    python scripts/casebook_table.py REPORT.json [--dimensions all length query_set] [--metric ndcg@10]

Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report")
    parser.add_argument("--dimensions", nargs="*", help="strata dimensions to show (default: all of them)")
    parser.add_argument("--metric", default="ndcg@10")
    parser.add_argument("--min-n", type=int, default=1, help="hide strata smaller than this")
    args = parser.parse_args(argv)
    report = json.load(open(args.report, encoding="utf-8"))
    base = next(p for p in report["pipelines"] if p["name"] == report["baseline"])
    others = [p["name"] for p in report["pipelines"] if p["name"] != report["baseline"]]
    rows = {(c["dimension"], c["stratum"], c["pipeline"]): c for c in report["comparisons"]
            if c["metric"] == args.metric and c.get("versus", report["baseline"]) == report["baseline"]}
    has_headroom = "recall@50" in base["overall"] and "recall@5" in base["overall"]
    head = ["stratum", "n", f"{report['baseline']} {args.metric}"] + (["headroom (R@50−R@5)", "rule"] if has_headroom else [])
    print("| " + " | ".join(head + [f"Δ {name}" for name in others]) + " |")
    print("|" + "---|" * (len(head) + len(others)))
    for stratum in base["strata"]:
        dim, label, n = stratum["dimension"], stratum["stratum"], stratum["n"]
        if (args.dimensions and dim not in args.dimensions) or n < args.min_n:
            continue
        m = stratum["metrics"]
        cells = [label if dim in ("all", label) else f"{dim}: {label}", str(n), f"{m[args.metric]['mean']:.3f}"]
        if has_headroom:
            room = m["recall@50"]["mean"] - m["recall@5"]["mean"]
            cells += [f"{room:.3f}", "rerank" if room >= 0.25 else "skip"]
        for name in others:
            c = rows.get((dim, label, name))
            if c is None:
                cells.append("")
                continue
            d = c["delta"]
            mark = {"helps": " ▲", "hurts": " ▼"}.get(c["verdict"], "")
            ci = f" [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]" if d.get("ci_low") is not None else ""
            cells.append(f"{d['mean']:+.3f}{ci}{mark}")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
