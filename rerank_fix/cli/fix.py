"""``rerank-fix fix --data DATA --out BUNDLE``: find what to deploy per stratum, prove it, write a bundle."""
from __future__ import annotations

import argparse


def _depths(value: str) -> list[int]:
    try:
        depths = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 10,20,50, got {value!r}") from None
    if not depths or any(d < 1 for d in depths):
        raise argparse.ArgumentTypeError(f"expected depths >= 1 like 10,20,50, got {value!r}")
    return depths


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "fix", help="from an eval set to a proven per-stratum decision, written as a deployable bundle",
        description="Diagnose stage one, try every fix that can pay (fusion, spelling correction, rerankers at "
                    "several depths, alone and blended), choose a per-stratum routing by nested cross-validation, "
                    "check it is never significantly worse than the baseline, and write a bundle "
                    "(bundle.yaml, policy.json, serving.json, rerankers, report).")
    parser.add_argument("--data", required=True, help="evaluation data: a BEIR folder, a pairs file, or 'demo'")
    parser.add_argument("--split", default="test", help="judged split to score (default test)")
    parser.add_argument("--reranker", action="append", metavar="NAME=PATH_OR_ID",
                        help="a reranker to try (hub id or folder, e.g. a fine-tuned one); repeat for several")
    parser.add_argument("--run", action="append", metavar="NAME=FILE",
                        help="your own stage-one run (TREC run file) as a candidate; repeat for several")
    parser.add_argument("--train-split", help="mine and quick-train a reranker on this split first (e.g. train)")
    parser.add_argument("--budget-minutes", type=float, help="training budget with --train-split (default 5)")
    parser.add_argument("--query-set", action="append", metavar="NAME=FILE",
                        help="score several queries files together, e.g. --query-set clean=queries.dl2019-clean.jsonl "
                             "--query-set typo1=queries.typo1.jsonl (query_set is never routed on)")
    parser.add_argument("--queries-file", help="another queries file of the folder")
    parser.add_argument("--retrievers", default="dense,bm25",
                        help="built-in stage ones, the first is the baseline (default dense,bm25)")
    parser.add_argument("--depths", type=_depths, default=[10, 20, 50, 100],
                        help="reranking depths to try, capped by --top-k (default 10,20,50,100)")
    parser.add_argument("--top-k", type=int, default=100, help="stage-one depth (default 100; at least 50)")
    parser.add_argument("--max-length", type=int, help="reranker token limit (default 256)")
    parser.add_argument("--folds", type=int, default=5, help="outer cross-validation folds (default 5)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level, Holm-adjusted (default 0.05)")
    parser.add_argument("--min-stratum-size", type=int, default=20,
                        help="smaller strata keep the baseline and are not judged (default 20)")
    parser.add_argument("--max-queries", type=int, help="evaluate a seeded sample of this many queries (quick look)")
    parser.add_argument("--latency-sample", type=int, default=10, help="queries timed one at a time (0: off)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--no-export", action="store_true",
                        help="reference local rerankers by path instead of exporting them into the bundle")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="bundle folder (new, empty, or an earlier fix bundle)")
    return parser


def run(args) -> int:
    from rerank_fix.cli.compare import _pairs
    from rerank_fix.errors import ConfigError
    from rerank_fix.fix.bundle import check_out_path
    from rerank_fix.fix.core import fix
    from rerank_fix.fix.verdict import verdict_screen

    check_out_path(args.out)  # before anything is loaded or trained
    retrievers = [r.strip() for r in args.retrievers.split(",") if r.strip()]
    unknown = [r for r in retrievers if r not in ("dense", "bm25")]
    if unknown or not retrievers:
        raise ConfigError(f"--retrievers: choose from dense, bm25 (got {args.retrievers!r})")
    result = fix(args.data, args.out, split=args.split, rerankers=args.reranker, runs=args.run,
                 train_split=args.train_split, budget_minutes=args.budget_minutes,
                 query_sets=_pairs(args.query_set, "--query-set") if args.query_set else None,
                 queries_file=args.queries_file, retrievers=retrievers, depths=args.depths, top_k=args.top_k,
                 folds=args.folds, alpha=args.alpha, min_stratum_size=args.min_stratum_size,
                 max_queries=args.max_queries, latency_sample=args.latency_sample, max_length=args.max_length,
                 plots=not args.no_plots, export=not args.no_export, show_progress=not args.quiet)
    print(verdict_screen(result))
    print(f"report: {result.bundle / 'report.md'}")
    return 0
