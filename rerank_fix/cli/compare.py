"""``rerank-fix compare RECIPE``: run every pipeline of a recipe and write one comparison report."""
from __future__ import annotations

import argparse
from pathlib import Path


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    from rerank_fix.errors import ConfigError

    out: dict[str, str] = {}
    for value in values or []:
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise ConfigError(f"{option} {value!r}: expected NAME=VALUE, e.g. {option} "
                              + {"--model": "minilm-quick=runs/finetune/best", "--set": "folds=10",
                                 "--run": "mysystem=runs/mysystem.trec"}.get(
                                  option, "typo1=queries.typo1.jsonl"))
        out[name] = target
    return out


def run_files(values: list[str] | None) -> dict[str, str]:
    """``--run NAME=FILE`` options as ``{name: file}``; every file must exist."""
    from rerank_fix.errors import ConfigError

    out = _pairs(values, "--run")
    for name, path in out.items():
        if not Path(path).is_file():
            raise ConfigError(f"--run {name}={path}: run file not found; give a TREC run file (qid Q0 docid rank score tag)")
    return out


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare", help="compare pipelines (dense, rerank, BM25, RRF, routed ...) side by side, per stratum",
        description="Run every pipeline of a recipe on the same queries (stage-one results shared) and write "
                    "report.md, report.html, report.json, plots and TREC runs. The first pipeline is the baseline.")
    parser.add_argument("recipe", help="recipe YAML, e.g. recipes/compare-fixes.yaml")
    parser.add_argument("--data", help="evaluation data (BEIR folder, 'demo', ...); overrides data.source")
    parser.add_argument("--split", help="qrels split to score; overrides data.split")
    parser.add_argument("--queries-file", help="another queries file of the folder (e.g. queries.typo1.jsonl)")
    parser.add_argument("--query-set", action="append", metavar="NAME=FILE",
                        help="score several queries files together as strata (repeat), e.g. "
                             "--query-set clean=queries.dl2019-clean.jsonl --query-set typo1=queries.typo1.jsonl")
    parser.add_argument("--model", action="append", metavar="NAME=PATH",
                        help="point a reranker name used in the recipe at a hub id or trained folder (repeat)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="settings",
                        help="set any recipe field (dotted key, YAML value), e.g. "
                             "--set models.minilm-quick.quick_train.data=../shared/data/scifact --set folds=10")
    parser.add_argument("--max-queries", type=int, help="score a seeded sample of this many queries (quick look)")
    parser.add_argument("--only", action="append", metavar="PIPELINE",
                        help="run only these pipelines (plus the baseline and what routed ones need)")
    parser.add_argument("--run", action="append", metavar="NAME=FILE",
                        help="your own stage-one results as a TREC run file: adds retriever NAME (usable in stages and "
                             "rrf) and a pipeline NAME that is just that run (repeat)")
    parser.add_argument("--only-covered", action="store_true",
                        help="score only the judged queries every --run file covers (default: uncovered ones score 0)")
    parser.add_argument("--latency-sample", type=int, help="queries timed one at a time (0: off)")
    parser.add_argument("--out", default="runs/compare", help="report folder (default runs/compare)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--no-score-cache", action="store_true",
                        help="do not reuse cross-encoder scores saved by earlier runs (they are keyed by model weights)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args) -> int:

    from rerank_fix.pipeline.recipe import load_recipe
    from rerank_fix.pipeline.runner import run_recipe
    from rerank_fix.report.compare import print_summary, write_comparison_report

    overrides: dict = {}
    if args.data:
        overrides["data.source"] = args.data
    if args.split:
        overrides["data.split"] = args.split
    if args.queries_file:
        overrides["data.queries_file"] = args.queries_file
    if args.query_set:
        overrides["data.query_sets"] = _pairs(args.query_set, "--query-set")
    if args.max_queries is not None:
        overrides["data.max_queries"] = args.max_queries
    if args.latency_sample is not None:
        overrides["latency.sample"] = args.latency_sample
    from rerank_fix.config_io import load_yaml_text

    for key, value in _pairs(args.settings, "--set").items():
        overrides[key] = load_yaml_text(value, f"--set {key}")
    runs = run_files(args.run)
    if runs:
        from rerank_fix.config_io import read_yaml

        raw, _ = read_yaml(args.recipe, "recipe file")
        pipelines = list((raw or {}).get("pipelines") or []) if isinstance(raw, dict) else []
        names = {p.get("name") for p in pipelines if isinstance(p, dict)}
        for name, path in runs.items():
            overrides[f"retrievers.{name}"] = {"run": {"path": str(Path(path).resolve()),
                                                       "only_covered": args.only_covered}}
            if name not in names:
                pipelines.append({"name": name, "description": f"stage one from the run file {path}",
                                  "stages": [name]})
        overrides["pipelines"] = pipelines
    models = _pairs(args.model, "--model")
    for name, path in models.items():
        # Before validation, so the recipe's own default for NAME (perhaps a model not trained yet) is never checked.
        overrides[f"models.{name}"] = {"path": path}
    recipe = load_recipe(args.recipe, overrides)
    from rerank_fix.outputs import claim_output

    out = claim_output(args.out, "compare", inputs=[args.recipe, recipe.data.source])
    result = run_recipe(recipe, model_overrides=models, show_progress=not args.quiet, only=args.only,
                        score_cache=False if args.no_score_cache else None)
    paths = write_comparison_report(result, Path(args.out), plots=not args.no_plots)
    out.commit()
    print_summary(result, report_path=paths["md"])
    return 0
