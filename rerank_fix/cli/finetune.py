"""``rerank-fix finetune CONFIG [--resume] [--dry-run]``: tune a cross-encoder reranker on mined triples."""
from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a cross-encoder reranker on mined triples (resumable)",
        description="Fine-tune a cross-encoder on FlagEmbedding-format triples with a listwise group loss, "
                    "evaluating on a dev split each epoch (reranking stage-one candidates), keeping the best "
                    "checkpoint and stopping early. Runs under `accelerate launch -m rerank_fix.finetune CONFIG` "
                    "for several GPUs.")
    parser.add_argument("config", help="YAML config, e.g. configs/finetune/cpu-minilm.yaml")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in the config's output_dir from its newest complete checkpoint")
    parser.add_argument("--dry-run", action="store_true",
                        help="print parameters, estimated memory and tokens per step; train nothing")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.max_steps=20 (repeatable; YAML values)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def parse_overrides(items: list[str]) -> dict[str, Any]:
    from rerank_fix.config_io import load_yaml_text
    from rerank_fix.errors import ConfigError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.max_steps=20")
        out[key.strip()] = load_yaml_text(value, f"--set {key.strip()}")
    return out


def run(args: argparse.Namespace) -> int:
    from rerank_fix.finetune.config import load_config

    cfg = load_config(args.config, overrides=parse_overrides(args.overrides))
    if args.dry_run:
        from rerank_fix.finetune.dryrun import dry_run, format_dry_run

        print(format_dry_run(dry_run(cfg)))
        return 0
    from rerank_fix.finetune.trainer import run_finetune

    result = run_finetune(cfg, resume=args.resume, show_progress=not args.no_progress)
    if result.summary:
        print(format_result(result.summary))
    return 0


def format_result(summary: dict[str, Any]) -> str:
    lines = [f"fine-tuned {summary['base_model']} for {summary['global_step']} steps "
             f"({summary['train_runtime_s']:.0f}s training)",
             f"  model: {summary['model_dir']}"]
    before, after = summary.get("before"), summary.get("after")
    if before and after:
        metrics = [m for m in before["metrics"] if "@" in m]
        lines.append(f"  dev ({summary['dev']['dev_queries']} queries, {summary['dev']['first_stage']} top-"
                     f"{summary['dev']['depth']} reranked):")
        for m in metrics:
            lines.append(f"    {m:<10} before {before['metrics'][m]:.4f}  after {after['metrics'][m]:.4f} "
                         f"(step {after['step']})")
    if summary.get("stopped_early"):
        lines.append("  stopped early: the dev metric stopped improving")
    return "\n".join(lines)
