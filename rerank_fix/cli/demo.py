"""``rerank-fix demo``: the main job on the bundled demo data and model, with nothing to set up."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("demo", help="run the main job on the bundled demo data and model")
    parser.add_argument("--out", default="runs/demo")
    parser.add_argument("--max-queries", type=int, default=None,
                        help="a quick look: diagnose, quick-train and compare on a seeded sample of this many queries")
    return parser


def run(args) -> int:
    from pathlib import Path

    from rerank_fix.cli import main as cli_main

    out = Path(args.out)
    sample = [] if args.max_queries is None else ["--max-queries", str(args.max_queries)]
    code = cli_main(["diagnose", "--data", "demo", "--split", "test", "--retriever", "both", *sample,
                     "--out", str(out / "diagnose")])
    if code:
        return code
    try:
        from rerank_fix.report.demo import run_demo
    except ImportError:
        return 0
    from rerank_fix.outputs import claim_output

    folder = claim_output(out / "compare", "compare")
    report = run_demo(out / "compare", max_queries=args.max_queries)
    folder.commit()
    print(f"comparison of fixes: {report}")
    # The decision: the compare run above already scored dense/RRF top 20 with the demo reranker (cached),
    # so fix at depths 10 and 20 with the same token limit adds selection, not cross-encoder work.
    return cli_main(["fix", "--data", "demo", "--split", "test", "--top-k", "50", "--depths", "10,20",
                     "--max-length", "128", *sample, "--out", str(out / "fix")])
