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
    parser.add_argument("--stratifier", action="append", metavar="CONFIG",
                        help="another registered stratifier, as YAML/JSON: '{type: NAME, option: value}' (repeat)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", action="append", metavar="NAME=FILE",
                        help="your own stage-one results as a TREC run file (qid Q0 docid rank score tag); "
                             "diagnosed, reranked and fused like a built-in retriever (repeat)")
    parser.add_argument("--only-covered", action="store_true",
                        help="score only the judged queries every --run file covers (default: uncovered ones score 0)")


def strata_settings(args) -> dict:
    """The recipe ``strata:`` section the strata flags describe (built through the stratifier registry)."""
    from rerank_fix.errors import ConfigError

    try:
        bounds = [int(x) for x in args.length_buckets.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--length-buckets must be integers like 4,9; got {args.length_buckets!r}") from None
    fields = None if args.strata_fields is None else [f.strip() for f in args.strata_fields.split(",") if f.strip()]
    custom = []
    for text in args.stratifier or []:
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError:
            config = None
        if not isinstance(config, dict) or "type" not in config:
            raise ConfigError(f"--stratifier {text!r}: give a mapping with a type, e.g. --stratifier '{{type: length}}'")
        custom.append(config)
    return {"length_buckets": bounds, "typo_share": args.typo_share, "fields": fields, "labels_file": args.labels,
            "custom": custom}


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "diagnose", help="stage-one metrics per stratum, headroom rule, and (with --reranker) the reranker's effect",
        description="Load an eval set, run stage one, and report recall@5/10/50/100, nDCG@10 and MRR@10 overall and "
                    "per stratum with 95%% bootstrap CIs, the headroom rule, and with --reranker the per-stratum "
                    "effect of reranking with paired tests (Holm-corrected).")
    add_data_arguments(parser)
    parser.add_argument("--retriever", default=None, choices=["dense", "bm25", "both"],
                        help="built-in stage one (default dense; none when only --run files are given)")
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
    parser.add_argument("--max-queries", type=int, default=None,
                        help="diagnose a seeded sample of this many judged queries (quick look)")
    add_run_arguments(parser)
    add_strata_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder for report.md, report.json, plots and runs")
    return parser


def run(args) -> int:
    from rerank_fix.report.tables import terminal_console

    from rerank_fix.cli.compare import run_files
    from rerank_fix.data import load_eval_set
    from rerank_fix.pipeline.diagnose import DiagnoseConfig, diagnose, sample_queries
    from rerank_fix.outputs import claim_output
    from rerank_fix.report.diagnose import headers, headline_rows, write_outputs
    from rerank_fix.report.tables import rich_table

    runs = run_files(args.run)
    out = claim_output(args.out, "diagnose", inputs=[args.data, args.corpus, args.labels, args.queries, *runs.values()])
    retrievers = {"both": ("dense", "bm25"), None: () if runs else ("dense",)}.get(args.retriever, (args.retriever,))
    config = DiagnoseConfig(
        retrievers=retrievers, dense_model=args.model,
        reranker=args.reranker, rerank_depth=args.rerank_depth, rerank_max_length=args.rerank_max_length,
        trust_remote_code=args.trust_remote_code, headroom_threshold=args.headroom_threshold,
        min_stratum_size=args.min_stratum_size, cache_dir=args.cache_dir, runs=runs,
        only_covered=args.only_covered, strata=strata_settings(args))
    eval_set = load_eval_set(args.data, args.split, args.queries, args.corpus)
    if args.max_queries is not None:
        eval_set = sample_queries(eval_set, args.max_queries)
    result = diagnose(eval_set, config)
    report = write_outputs(result, args.out)
    out.commit()
    console = terminal_console()
    for name, system in result.systems.items():
        console.print(rich_table(f"{eval_set.name} · {name}", headers(result, system.reranked is not None),
                                 headline_rows(result, system, compact=True)))
    console.print(f"report: [bold]{report}[/]  (also report.json, PNG plots, runs/*.trec)")
    return 0
