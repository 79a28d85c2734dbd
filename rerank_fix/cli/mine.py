"""``rerank-fix mine``: hard-negative triples for reranker training, with false-negative filtering."""
from __future__ import annotations

import argparse
import logging
from typing import Any

logger = logging.getLogger("rerank_fix.mine")

# CLI flag -> MineConfig field, for flags whose value is passed through unchanged.
_PASSTHROUGH = {
    "retriever": "retriever", "negatives": "negatives", "sampling": "sampling", "seed": "seed",
    "near_dup_threshold": "near_duplicate_threshold", "duplicate_check": "duplicate_check",
    "shingle_size": "shingle_size",
    "teacher": "teacher", "teacher_fraction": "teacher_fraction", "teacher_batch_size": "teacher_batch_size",
    "teacher_max_length": "teacher_max_length", "model": "model", "batch_size": "batch_size",
    "query_prefix": "query_prefix", "doc_prefix": "doc_prefix", "cache_dir": "cache_dir", "device": "device",
    "bm25_k1": "bm25_k1", "bm25_b": "bm25_b", "rrf_k": "rrf_k", "query_block": "query_block",
    "typo_rate": "typo_rate", "typo_copies": "typo_copies", "teacher_backend": "teacher_backend",
}
_OPTIONAL_FLOATS = {"relative_margin": "relative_margin", "absolute_margin": "absolute_margin",
                    "max_score": "max_score", "min_score": "min_score"}


def _optional_float(text: str) -> float | None:
    if text.strip().lower() in {"none", "off", "null", ""}:
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "mine", help="mine hard-negative training triples, filtering likely false negatives",
        description="Retrieve candidates for every training query (dense, BM25 or hybrid RRF), skip the top of "
                    "the ranking, drop likely false negatives (near-duplicates of a positive, bi-encoder margin, "
                    "optional cross-encoder teacher), and write FlagEmbedding JSONL, sentence-transformers "
                    "datasets (triplet and n-tuple), stats.json and a histogram.")
    parser.add_argument("--data", required=True,
                        help="'demo', a BEIR folder, a pairs .jsonl/.csv, your own FlagEmbedding-style JSONL "
                             "({query, pos | pos_ids}), a saved HF dataset, or a hub id")
    parser.add_argument("--split", default="train", help="qrels split to mine (default: train)")
    parser.add_argument("--queries", default=None, help="another queries file in the folder")
    parser.add_argument("--corpus", default=None, help="corpus.jsonl for a pairs/own-triples file, if not beside it")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--config", default=None, help="YAML mining config (e.g. configs/mine/defaults.yaml); "
                                                       "flags given on the command line win")
    sel = parser.add_argument_group("selection")
    sel.add_argument("--retriever", choices=["dense", "bm25", "hybrid"], default=None, help="default: dense")
    sel.add_argument("--range", default=None, metavar="MIN:MAX",
                     help="rank window: skip the top MIN ranks, take candidates down to rank MAX (default 3:100)")
    sel.add_argument("--negatives", type=int, default=None, help="negatives per query (default 15)")
    sel.add_argument("--sampling", choices=["top", "random"], default=None,
                     help="top: best-ranked survivors; random: seeded uniform sample of the survivors (default top)")
    sel.add_argument("--seed", type=int, default=None)
    sel.add_argument("--min-score", type=_optional_float, default=argparse.SUPPRESS,
                     help="drop candidates whose bi-encoder similarity is below this (default none)")
    fn = parser.add_argument_group("false-negative filter (on by default)")
    fn.add_argument("--no-fn-filter", dest="fn_filter", action="store_false", default=None,
                    help="switch off all three false-negative checks")
    fn.add_argument("--fn-filter", dest="fn_filter", action="store_true", help=argparse.SUPPRESS)
    fn.add_argument("--no-dup-check", dest="duplicate_check", action="store_false", default=None,
                    help="switch off check (a), duplicates of a positive")
    fn.add_argument("--near-dup-threshold", type=float, default=None,
                    help="word-shingle Jaccard at or above which a candidate duplicates a positive (default 0.8)")
    fn.add_argument("--shingle-size", type=int, default=None, help="words per shingle (default 3)")
    fn.add_argument("--relative-margin", type=_optional_float, default=argparse.SUPPRESS,
                    help="drop candidates with similarity > pos - |pos| * M (default 0.05; 'none' to disable)")
    fn.add_argument("--absolute-margin", type=_optional_float, default=argparse.SUPPRESS,
                    help="drop candidates with similarity > pos - M (default none)")
    fn.add_argument("--max-score", type=_optional_float, default=argparse.SUPPRESS,
                    help="drop candidates whose bi-encoder similarity is above this (default none)")
    fn.add_argument("--teacher", default=None, help="cross-encoder id or path used as a false-negative judge")
    fn.add_argument("--teacher-fraction", type=float, default=None,
                    help="drop when sigmoid(teacher logit) >= F x the positive's (default 0.95)")
    fn.add_argument("--teacher-backend", default=None,
                    help="scorer backend of the teacher (default torch: a CrossEncoder; any registered reranker)")
    fn.add_argument("--teacher-scores-only", dest="teacher_filter", action="store_false", default=None,
                    help="do not drop anything with the teacher; only write its scores (pos_scores/neg_scores "
                         "in triples.jsonl) for distillation")
    fn.add_argument("--audit", action="store_true", default=None,
                    help="write audit.jsonl and audit.html: the candidates the filters dropped, to label")
    fn.add_argument("--teacher-batch-size", type=int, default=None)
    fn.add_argument("--teacher-max-length", type=int, default=None)
    models = parser.add_argument_group("retrieval")
    models.add_argument("--model", default=None, help="bi-encoder id or path (default: bundled all-MiniLM-L6-v2)")
    models.add_argument("--batch-size", type=int, default=None, help="bi-encoder batch size (default 64)")
    models.add_argument("--query-prefix", default=None)
    models.add_argument("--doc-prefix", default=None)
    models.add_argument("--cache-dir", default=None, help="embedding cache (default ~/.cache/rerank_fix)")
    models.add_argument("--device", default=None, help="torch device for the models (default: cuda if available)")
    models.add_argument("--bm25-k1", type=float, default=None)
    models.add_argument("--bm25-b", type=float, default=None)
    models.add_argument("--rrf-k", type=float, default=None)
    models.add_argument("--query-block", type=int, default=None, help="queries per block (default 256)")
    aug = parser.add_argument_group("typo augmentation")
    aug.add_argument("--typo-rate", type=float, default=None,
                     help="add typo copies of each query at this per-letter rate (default 0: off)")
    aug.add_argument("--typo-copies", type=int, default=None, help="typo copies per query (default 1)")
    stress = parser.add_argument_group("hard-negative stress set (instead of training triples)")
    stress.add_argument("--stress-set", action="store_true",
                        help="write an evaluation set with distractors (title-sharing corpus documents and "
                             "sentence-swapped copies of the positive) as a BEIR folder, with distractors.jsonl; "
                             "use it with --split test and score it with `rerank-fix compare`")
    stress.add_argument("--neighbours", type=int, default=3, help="title-sharing distractors per query (default 3)")
    stress.add_argument("--swaps", type=int, default=1, help="sentence-swapped copies per treated query (default 1)")
    stress.add_argument("--swap-sentences", type=int, default=2, help="key sentences replaced per copy (default 2)")
    stress.add_argument("--swap-share", type=float, default=0.5,
                        help="share of queries given swapped copies; the rest are the control stratum (default 0.5)")
    parser.add_argument("--no-plot", action="store_true", help="skip histogram.png")
    parser.add_argument("--samples", type=int, default=3, help="sample triples to print (default 3)")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from rerank_fix.mine.config import parse_range

    out: dict[str, Any] = {}
    for flag, key in _PASSTHROUGH.items():
        value = getattr(args, flag, None)
        if value is not None:
            out[key] = value
    for flag, key in _OPTIONAL_FLOATS.items():
        # These flags default to SUPPRESS: absent means "keep the config's value", "none" means switch off.
        if hasattr(args, flag):
            out[key] = getattr(args, flag)
    if args.fn_filter is not None:
        out["false_negative_filter"] = args.fn_filter
    if getattr(args, "teacher_filter", None) is not None:
        out["teacher_filter"] = args.teacher_filter
    if getattr(args, "audit", None):
        out["audit"] = True
    if args.range is not None:
        out["range_min"], out["range_max"] = parse_range(args.range)
    return out


def load_training_data(source: str, split: str, queries_file: str | None = None, corpus: str | None = None):
    """Queries, positives and corpus to mine from: a FlagEmbedding-style JSONL, or anything load_eval_set reads."""
    from rerank_fix.mine.inputs import is_own_triples_file, load_own_pairs

    if is_own_triples_file(source):
        return load_own_pairs(source, corpus)
    from rerank_fix.data import load_eval_set

    return load_eval_set(source, split=split, queries_file=queries_file, corpus=corpus)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "stress_set", False):
        return run_stress_set(args)
    from rerank_fix.mine.config import build_config, load_mine_config

    overrides = _overrides(args)
    cfg = load_mine_config(args.config, **overrides) if args.config else build_config(None, "command line", **overrides)
    if args.split == "test":
        logger.warning("mining from the 'test' split: those queries become training data, so any later "
                       "evaluation on this split is contaminated. Mine the train split instead.")
    from rerank_fix.outputs import claim_output

    out = claim_output(args.out, "mine", inputs=[args.data, args.corpus, args.queries])
    data = load_training_data(args.data, args.split, args.queries, args.corpus)

    from rerank_fix.errors import DataError
    from rerank_fix.mine.miner import HardNegativeMiner

    result = HardNegativeMiner(cfg).mine(data)
    paths = result.write(args.out, plot=not args.no_plot)
    out.commit()
    _print_summary(result, paths, args.samples)
    if not result.records:
        raise DataError(f"no negatives could be mined for any of the {len(data.queries)} queries (see "
                        f"{paths['stats']}); widen --range, lower --negatives, or loosen the margins")
    return 0


def run_stress_set(args: argparse.Namespace) -> int:
    """``mine --stress-set``: the distractor stress set of :mod:`rerank_fix.mine.distractors`."""
    from rerank_fix.mine.distractors import StressConfig, build_stress_set
    from rerank_fix.outputs import claim_output

    cfg = StressConfig(neighbours=args.neighbours, swaps=args.swaps, swap_sentences=args.swap_sentences,
                       swap_share=args.swap_share, seed=0 if args.seed is None else args.seed,
                       **({"near_duplicate_threshold": args.near_dup_threshold}
                          if args.near_dup_threshold is not None else {}),
                       **({"shingle_size": args.shingle_size} if args.shingle_size is not None else {}))
    out = claim_output(args.out, "mine", inputs=[args.data, args.corpus, args.queries])
    data = load_training_data(args.data, args.split, args.queries, args.corpus)
    stress = build_stress_set(data, cfg, split=args.split)
    paths = stress.write(args.out)
    out.commit()
    st = stress.stats
    q = st["queries"]
    print(f"{st['source']}: {q['queries']} queries ({q['swapped copy added']} with swapped copies, {q['control']} "
          f"control); distractors: {st['distractors']['title-neighbour']} title neighbours, "
          f"{st['distractors']['sentence-swap']} swapped copies ({st['added_documents']} documents added)")
    for name, path in paths.items():
        print(f"{name}: {path}")
    print(f"score it: rerank-fix compare recipes/failure-cases/hard-negatives.yaml --data {args.out} --split {args.split}")
    return 0


def _print_summary(result, paths: dict[str, str], n_samples: int) -> None:
    from rich.table import Table

    from rerank_fix.report.tables import terminal_console

    console = terminal_console()
    st = result.stats
    q, c = st["queries"], st["candidates"]
    console.print(f"[bold]{st['data']['name']}[/]: {q['total']} judged queries, {q['skipped_no_positive']} without a "
                  f"positive skipped, {q['skipped_no_candidates']} without candidates; {q['emitted']} queries "
                  f"emitted ({q['with_all_negatives']} with all {result.config.negatives} negatives, "
                  f"{q['with_fewer_negatives']} with fewer), {q['typo_copies']} typo copies", highlight=False)
    table = Table(title="Candidates in the window", show_lines=False)
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_column("share of negative candidates", justify="right")
    total = c["negative_candidates"] or 1
    table.add_row("positives (excluded)", str(c["positives_in_window"]), "")
    for reason, n in c["dropped"].items():
        if n:
            table.add_row(f"dropped: {reason}", str(n), f"{n / total:.1%}")
    table.add_row("emitted as negatives", str(c["emitted"]), f"{c['emitted'] / total:.1%}")
    table.add_row("passed, not needed", str(c["passed_but_not_needed"]), f"{c['passed_but_not_needed'] / total:.1%}")
    console.print(table)
    for sample in result.samples(n_samples, seed=result.config.seed):
        console.print(f"[dim]{sample['query_id']}[/] {sample['query']!r}\n"
                      f"  + {sample['pos_id']}: {sample['positive']}\n"
                      f"  - {sample['neg_id']} (rank {sample['neg_rank']}): {sample['negative']}", highlight=False)
    for name, path in paths.items():
        console.print(f"{name}: {path}", highlight=False)
