"""``rerank-fix diagnose``: stage-one quality per stratum, the headroom rule, and what a reranker does."""
from __future__ import annotations

import argparse


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="'demo', a BEIR folder, a pairs .jsonl/.csv, or a hub id")
    parser.add_argument("--split", default="test", help="qrels split (default: test)")
    parser.add_argument("--queries", default=None, help="another queries file in the folder, e.g. queries.typo1.jsonl")
    parser.add_argument("--corpus", default=None, help="corpus.jsonl for a pairs file, if not beside it")


def add_strata_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strata-fields", default=None,
                        help="comma-separated query metadata fields to stratify by (default: every categorical field)")
    parser.add_argument("--labels", default=None, help="a TSV of query_id<TAB>label: your own strata")
    parser.add_argument("--length-buckets", default="4,9",
                        help="inclusive upper bounds of the query-length buckets in tokens (default 4,9: ≤4 / 5–9 / ≥10)")
    parser.add_argument("--typo-share", type=float, default=0.1,
                        help="share of likely-typo terms that makes a query typo-heavy (default 0.1)")


def build_stratifiers(args, eval_set):
    from rerank_fix.errors import ConfigError
    from rerank_fix.evaluate.strata import (LabelsFileStratifier, MetadataStratifier, QueryLengthStratifier,
                                            TypoStratifier, metadata_fields)

    try:
        bounds = [int(x) for x in args.length_buckets.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--length-buckets must be integers like 4,9; got {args.length_buckets!r}") from None
    stratifiers = [QueryLengthStratifier(bounds), TypoStratifier.from_corpus(eval_set.corpus, min_share=args.typo_share)]
    fields = (metadata_fields(eval_set.queries.values()) if args.strata_fields is None
              else [f.strip() for f in args.strata_fields.split(",") if f.strip()])
    stratifiers += [MetadataStratifier(f, "typo (labelled)" if f == "typo" else None) for f in fields]
    if args.labels:
        stratifiers.append(LabelsFileStratifier(args.labels))
    return stratifiers


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "diagnose", help="stage-one metrics per stratum, headroom rule, and (with --reranker) the reranker's effect",
        description="Load an eval set, run stage one, and report recall@5/10/50/100, nDCG@10 and MRR@10 overall and "
                    "per stratum with 95%% bootstrap CIs, the headroom rule, and with --reranker the per-stratum "
                    "effect of reranking with paired tests (Holm-corrected).")
    add_data_arguments(parser)
    parser.add_argument("--retriever", default="dense", choices=["dense", "bm25", "both"])
    parser.add_argument("--model", default=None, help="bi-encoder id or path (default: bundled all-MiniLM-L6-v2)")
    parser.add_argument("--reranker", default=None,
                        help="cross-encoder id or path, a reranking API (http+tei://HOST:PORT, "
                             "https+cohere://api.cohere.com?model=...&api_key_env=VAR) or a models.yaml name with an "
                             "http: block, measured on the top --rerank-depth")
    parser.add_argument("--rerank-depth", type=int, default=50)
    parser.add_argument("--rerank-max-length", type=int, default=512)
    parser.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    parser.add_argument("--headroom-threshold", type=float, default=0.25)
    parser.add_argument("--min-stratum-size", type=int, default=20)
    parser.add_argument("--cache-dir", default=None, help="embedding cache (default ~/.cache/rerank_fix)")
    add_strata_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder for report.md, report.json, plots and runs")
    return parser


def run(args) -> int:
    from rich.console import Console

    from rerank_fix.data import load_eval_set
    from rerank_fix.diagnose import DiagnoseConfig, diagnose, headline_rows, write_outputs
    from rerank_fix.report.diagnose import headers
    from rerank_fix.report.tables import rich_table

    eval_set = load_eval_set(args.data, args.split, args.queries, args.corpus)
    config = DiagnoseConfig(
        retrievers=("dense", "bm25") if args.retriever == "both" else (args.retriever,), dense_model=args.model,
        reranker=args.reranker, rerank_depth=args.rerank_depth, rerank_max_length=args.rerank_max_length,
        trust_remote_code=args.trust_remote_code, headroom_threshold=args.headroom_threshold,
        min_stratum_size=args.min_stratum_size, cache_dir=args.cache_dir)
    result = diagnose(eval_set, config, build_stratifiers(args, eval_set))
    report = write_outputs(result, args.out)
    console = Console()
    for name, system in result.systems.items():
        console.print(rich_table(f"{eval_set.name} · {name}", headers(result, system.reranked is not None),
                                 headline_rows(result, system, compact=True)))
    console.print(f"report: [bold]{report}[/]  (also report.json, PNG plots, runs/*.trec)")
    return 0
